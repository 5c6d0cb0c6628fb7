"""Evidence 证据: uploads checked by content, stored by hash, readable only by those concerned."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from PIL import Image

from ..domain.errors import Forbidden, NotFound, ValidationFailed
from ..domain.ids import new_id
from ..domain.media import EVIDENCE_KINDS, IMAGE_TYPES, FileTooLarge, UnsupportedMediaType, content_problem, sniff
from ..domain.roles import PLATFORM
from ..integrations.storage import PREFIX, ObjectMissing, Storage, content_key, key_hash
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import images
from .context import Actor, Env

log = logging.getLogger(__name__)

KINDS = EVIDENCE_KINDS
# How long an object no row references is left alone: an upload writes its objects before its
# row commits, and a slow one (a 20 MiB file to a distant bucket) must not lose them meanwhile.
SWEEP_GRACE = timedelta(hours=1)
_CHUNK = 1 << 16


def store_file(env: Env, stream: BinaryIO) -> tuple[str, int, str, Path]:
    """Copy the upload to a temporary file, hashing and size-capping as it goes.
    Returns (sha256, size, media type, temp path); the caller moves it into place."""
    root = env.data_dir / "evidence"
    root.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > env.evidence_max_bytes:
                    raise FileTooLarge(f"file exceeds {env.evidence_max_bytes} bytes", max_bytes=env.evidence_max_bytes)
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed("file is empty", code="empty_file")
        media_type = sniff(head)
        if media_type is None:
            raise UnsupportedMediaType(
                "file content is not an accepted type (JPEG, PNG, GIF, WebP, PDF, MP4/MOV, UTF-8 text)"
            )
        with tmp.open("rb") as written:
            problem = _image_problem(written, media_type) if media_type in IMAGE_TYPES else None
            problem = problem or content_problem(media_type, written, size)
        if problem is not None:
            raise ValidationFailed(
                f"the file starts as {media_type} but is not one: {problem}", code="corrupt_file", media_type=media_type
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size, media_type, tmp


# Pillow's default warning size for a decompression bomb (a small file that decodes to gigabytes);
# a photo of 89 million pixels is far beyond any phone's.
MAX_PIXELS = 89_478_485
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def _image_problem(stream: BinaryIO, media_type: str) -> str | None:
    """Decode the whole image (verify() checks its structure, load() its pixel data)."""
    fmt = _PILLOW_FORMATS[media_type]
    try:
        with Image.open(stream, formats=[fmt]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return f"{width}x{height} pixels is more than {MAX_PIXELS}"
            image.verify()
        stream.seek(0)
        with Image.open(stream, formats=[fmt]) as image:  # verify() leaves an image unusable
            image.load()
    except Exception as exc:  # any failure to decode, whatever Pillow raises for it (OSError, SyntaxError, ...)
        return f"it does not decode ({type(exc).__name__}: {exc})"[:300]
    return None


@dataclass(frozen=True)
class _Object:
    sha256: str
    content_type: str
    data: bytes | Path  # a path: the spooled upload, read again whenever it is written


def _write(storage: Storage, obj: _Object) -> None:
    if isinstance(obj.data, Path):
        with obj.data.open("rb") as stream:
            storage.put(content_key(obj.sha256), stream, obj.content_type)
    else:
        storage.put(content_key(obj.sha256), obj.data, obj.content_type)


def _derived(data: bytes, media_type: str) -> tuple[_Object, _Object]:
    try:
        clean = images.stripped(data, media_type)
        thumb = images.thumbnail(data, media_type)
    except Exception as exc:  # decoded, yet not re-encodable: refused rather than shown with its metadata
        raise ValidationFailed(
            f"the image cannot be re-encoded without its metadata ({type(exc).__name__})",
            code="corrupt_file",
            media_type=media_type,
        ) from None
    return (
        _Object(hashlib.sha256(clean).hexdigest(), media_type, clean),
        _Object(hashlib.sha256(thumb).hexdigest(), images.THUMBNAIL_TYPE, thumb),
    )


def upload(
    uow: UnitOfWork, env: Env, actor: Actor, *, kind: str, stream: BinaryIO, filename: str | None
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}", fields=["kind"])
    sha, size, media_type, tmp = store_file(env, stream)
    try:
        objects = [_Object(sha, media_type, tmp)]
        if media_type in IMAGE_TYPES:
            objects += _derived(tmp.read_bytes(), media_type)
        # The objects are written before the row commits (a bucket takes no part in a database
        # transaction). Same bytes, same key: a second upload of them rewrites the one object,
        # which also makes it young again for the sweeper.
        for obj in objects:
            _write(env.storage, obj)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    storage, engine = env.storage, uow.engine

    def committed() -> None:
        # A rolled-back upload of the same bytes may have removed the object between our write
        # and our commit (see aborted): ours is the row that needs it, so it goes back.
        try:
            for obj in objects:
                if not storage.exists(content_key(obj.sha256)):
                    _write(storage, obj)
        except Exception:  # the row stands; the answer is not turned into an error after the fact
            log.exception("evidence %s: could not check its stored objects after commit", sha)
        finally:
            tmp.unlink(missing_ok=True)

    def aborted() -> None:
        # A refused upload (a lost Idempotency-Key race, a constraint) leaves nothing behind that
        # no committed row references. A concurrent upload of the same bytes that commits
        # meanwhile is seen by the second look, or puts the object back itself (committed).
        try:
            hashes = [obj.sha256 for obj in objects]
            with UnitOfWork(engine) as look:
                orphans = [obj for obj in objects if obj.sha256 not in referenced(look, hashes)]
            for obj in orphans:
                storage.delete(content_key(obj.sha256))
            with UnitOfWork(engine) as look:
                needed = referenced(look, [obj.sha256 for obj in orphans])
            for obj in orphans:
                if obj.sha256 in needed:
                    _write(storage, obj)
        except Exception:  # what stays behind is the sweeper's
            log.exception("evidence %s: could not remove the objects of a refused upload", sha)
        finally:
            tmp.unlink(missing_ok=True)

    uow.on_outcome(committed, aborted)
    row = dict(
        id=new_id("ev", env.clock.now()),
        uploader_id=actor.id,
        uploader_role=actor.role,
        uploader_merchant_id=actor.merchant_id,
        kind=kind,
        media_type=media_type,
        size=size,
        sha256=sha,
        stripped_sha256=objects[1].sha256 if len(objects) > 1 else None,
        thumbnail_sha256=objects[2].sha256 if len(objects) > 1 else None,
        # A client's name for the file, kept for display only: no control characters (NUL cannot be
        # stored by PostgreSQL, and SQLite must answer alike).
        filename="".join(c for c in (filename or "") if c.isprintable())[:255] or None,
        created_at=env.clock.now(),
    )
    uow.execute(t.evidence.insert().values(**row))
    return row


def referenced(uow: UnitOfWork, hashes: list[str]) -> set[str]:
    """Which of the hashes an evidence row references (as its file, stripped copy or thumbnail)."""
    ev, found = t.evidence.c, set[str]()
    for i in range(0, len(hashes), 300):
        batch = hashes[i : i + 300]
        for column in (ev.sha256, ev.stripped_sha256, ev.thumbnail_sha256):
            found.update(uow.execute(sa.select(column).where(column.in_(batch)).distinct()).scalars())
    return found


def sweep(uow: UnitOfWork, env: Env, *, grace: timedelta = SWEEP_GRACE) -> list[str]:
    """Delete the stored objects no evidence row references and written more than `grace` ago
    (on the injected clock): what an upload left when it died between writing its objects and
    committing its row. Younger ones may belong to an upload still in flight. Returns the keys.
    An upload rewrites its objects, which makes them young: each one is looked at again just
    before it is deleted, and an upload whose object still went meanwhile writes it again after
    its commit (see upload)."""
    cutoff = env.clock.now() - grace
    old: dict[str, str] = {}
    for obj in env.storage.list(PREFIX):
        sha = key_hash(obj.key)
        if sha is not None and obj.modified_at < cutoff:
            old[sha] = obj.key
    gone = []
    for sha in sorted(set(old) - referenced(uow, list(old))):
        key = old[sha]
        if all(o.modified_at < cutoff for o in env.storage.list(key)):  # not rewritten since the listing
            env.storage.delete(key)
            gone.append(key)
    if gone:
        log.info("swept %d stored objects no evidence references", len(gone))
    return gone


def get(uow: UnitOfWork, actor: Actor, evidence_id: str) -> dict[str, Any]:
    row = uow.execute(sa.select(t.evidence).where(t.evidence.c.id == evidence_id)).first()
    if row is None or not _may_read(uow, actor, row):
        raise NotFound("evidence not found")
    return dict(row._mapping)


# Which copy of a file is served: `original` (as uploaded, EXIF and location included) is the
# uploader's and the platform's; `stripped` (an image re-encoded without metadata) is what the
# other party of a case gets; `thumbnail` is a small stripped JPEG, for whoever may read the file.
VARIANTS = ("original", "stripped")


@dataclass(frozen=True)
class Served:
    variant: str
    media_type: str
    key: str | None = None  # the stored object to send
    data: bytes | None = None  # or bytes made on the spot (an image stored before its copies were)


def uploaded_by(actor: Actor, row: Mapping[str, Any]) -> bool:
    """Whether `actor` uploaded the file: the same role, login and shop (staff logins are unique
    within a shop only; a merchant's file stored before the shop was recorded is its shop's
    through the cases citing it)."""
    return (row["uploader_role"], row["uploader_id"], row["uploader_merchant_id"]) == (
        actor.role,
        actor.id,
        actor.merchant_id,
    )


def sees_original(actor: Actor, row: dict[str, Any]) -> bool:
    return actor.role in PLATFORM or uploaded_by(actor, row)


def served(env: Env, actor: Actor, row: dict[str, Any], variant: str | None) -> Served:
    """The copy of readable evidence `row` to serve `actor`: the one it is entitled to unless
    it asks for another (variant: original, stripped or thumbnail)."""
    image = row["media_type"] in IMAGE_TYPES
    if variant is None:
        variant = "original" if sees_original(actor, row) or not image else "stripped"
    if variant == "thumbnail":
        if not image:
            raise NotFound("only images have a thumbnail", code="no_thumbnail")
        if row["thumbnail_sha256"]:
            return Served(variant, images.THUMBNAIL_TYPE, key=content_key(row["thumbnail_sha256"]))
        original = _bytes(env, row["sha256"])
        return Served(variant, images.THUMBNAIL_TYPE, data=images.thumbnail(original, row["media_type"]))
    if variant == "original" and image and not sees_original(actor, row):
        raise Forbidden(
            "the original image, with its metadata, is for its uploader and the platform; "
            "the other party gets it with EXIF and location removed (variant=stripped)",
            code="original_not_allowed",
        )
    if variant == "original" or not image:  # a file that is not an image has nothing to strip
        return Served("original", row["media_type"], key=content_key(row["sha256"]))
    if row["stripped_sha256"]:
        return Served(variant, row["media_type"], key=content_key(row["stripped_sha256"]))
    return Served(variant, row["media_type"], data=images.stripped(_bytes(env, row["sha256"]), row["media_type"]))


def _bytes(env: Env, sha256: str) -> bytes:
    try:
        return env.storage.get(content_key(sha256))
    except ObjectMissing:
        raise _missing(sha256) from None


def open_served(env: Env, copy: Served) -> Iterator[bytes]:
    """The bytes of a served copy, in chunks."""
    if copy.data is not None:
        return iter((copy.data,))
    assert copy.key is not None
    try:
        return env.storage.open(copy.key)
    except ObjectMissing:
        raise _missing(copy.key) from None


def _missing(what: str) -> NotFound:
    log.error("evidence object %s is missing from storage", what)
    return NotFound("the stored file of this evidence is missing", code="evidence_file_missing")


def _may_read(uow: UnitOfWork, actor: Actor, row: Any) -> bool:
    if actor.role in PLATFORM or uploaded_by(actor, row._mapping):
        return True
    a, link = t.after_sales.c, t.evidence_links.c
    r, photo = t.reviews.c, t.review_photos.c
    # The parties of a case citing it, or of a review showing it (the shop sees the buyer's photos).
    parties = uow.execute(
        sa.union_all(
            sa.select(a.buyer_id, a.merchant_id)
            .join(t.evidence_links, link.after_sale_id == a.id)
            .where(link.evidence_id == row.id),
            sa.select(r.buyer_id, r.merchant_id)
            .join(t.review_photos, photo.review_id == r.id)
            .where(photo.evidence_id == row.id),
        )
    )
    return any(actor.sees(p.buyer_id, p.merchant_id) and actor.role in ("buyer", "merchant") for p in parties)


def check(uow: UnitOfWork, actor: Actor, evidence_ids: list[str], case_id: str | None = None) -> list[str]:
    """The ids, deduplicated, if the actor may cite every one; unknown or foreign ids are a 422.
    A party cites the files it uploaded, and those already on the case it cites them on; never
    a file it may merely read from elsewhere (a shop reads every buyer's photos of its cases,
    which must not reach the buyer of another case). The platform cites any file it reads."""
    ids = list(dict.fromkeys(evidence_ids))
    on_case: set[str] = set()
    if case_id is not None and ids:
        link_c = t.evidence_links.c
        on_case = set(uow.execute(sa.select(link_c.evidence_id).where(link_c.after_sale_id == case_id)).scalars())
    for evidence_id in ids:
        try:
            row = get(uow, actor, evidence_id)
        except NotFound:
            raise ValidationFailed(f"unknown evidence {evidence_id!r}", fields=["evidence"]) from None
        if actor.role not in PLATFORM and not uploaded_by(actor, row) and evidence_id not in on_case:
            raise ValidationFailed(
                f"evidence {evidence_id!r} is another party's file from elsewhere: cite your own",
                code="evidence_not_citable",
                fields=["evidence"],
            )
    return ids


def link(uow: UnitOfWork, case_id: str, ids: list[str]) -> None:
    """Record that a case cites evidence, so the case's parties may read it."""
    col = t.evidence_links.c
    already = {
        r.evidence_id
        for r in uow.execute(sa.select(col.evidence_id).where(col.after_sale_id == case_id, col.evidence_id.in_(ids)))
    }
    fresh = [{"evidence_id": e, "after_sale_id": case_id} for e in ids if e not in already]
    if fresh:
        uow.execute(t.evidence_links.insert(), fresh)


def cite(uow: UnitOfWork, actor: Actor, case_id: str, evidence_ids: list[str]) -> list[str]:
    ids = check(uow, actor, evidence_ids, case_id)
    link(uow, case_id, ids)
    return ids
