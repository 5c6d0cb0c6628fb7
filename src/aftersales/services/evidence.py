"""Evidence 证据: uploads checked by content, stored by hash, readable only by those concerned."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from PIL import Image

from ..domain.errors import NotFound, ValidationFailed
from ..domain.ids import new_id
from ..domain.media import EVIDENCE_KINDS, IMAGE_TYPES, FileTooLarge, UnsupportedMediaType, content_problem, sniff
from ..domain.roles import PLATFORM
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env

KINDS = EVIDENCE_KINDS
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


def content_path(env: Env, sha256: str) -> Path:
    return env.data_dir / "evidence" / sha256[:2] / sha256


def upload(
    uow: UnitOfWork, env: Env, actor: Actor, *, kind: str, stream: BinaryIO, filename: str | None
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}", fields=["kind"])
    sha, size, media_type, tmp = store_file(env, stream)
    final = content_path(env, sha)

    def keep() -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)  # same content, same name: a re-upload overwrites identical bytes

    # The file goes into place only once its row is committed: a refused upload (a constraint, a
    # lost Idempotency-Key race) leaves nothing behind, and a file in place always has its row.
    uow.on_outcome(keep, lambda: tmp.unlink(missing_ok=True))
    row = dict(
        id=new_id("ev", env.clock.now()),
        uploader_id=actor.id,
        uploader_role=actor.role,
        kind=kind,
        media_type=media_type,
        size=size,
        sha256=sha,
        # A client's name for the file, kept for display only: no control characters (NUL cannot be
        # stored by PostgreSQL, and SQLite must answer alike).
        filename="".join(c for c in (filename or "") if c.isprintable())[:255] or None,
        created_at=env.clock.now(),
    )
    uow.execute(t.evidence.insert().values(**row))
    return row


def get(uow: UnitOfWork, actor: Actor, evidence_id: str) -> dict[str, Any]:
    row = uow.execute(sa.select(t.evidence).where(t.evidence.c.id == evidence_id)).first()
    if row is None or not _may_read(uow, actor, row):
        raise NotFound("evidence not found")
    return dict(row._mapping)


def _may_read(uow: UnitOfWork, actor: Actor, row: Any) -> bool:
    if actor.role in PLATFORM or (row.uploader_id == actor.id and row.uploader_role == actor.role):
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


def check(uow: UnitOfWork, actor: Actor, evidence_ids: list[str]) -> list[str]:
    """The ids, deduplicated, if the actor may cite every one; unknown or foreign ids are a 422."""
    ids = list(dict.fromkeys(evidence_ids))
    for evidence_id in ids:
        try:
            get(uow, actor, evidence_id)
        except NotFound:
            raise ValidationFailed(f"unknown evidence {evidence_id!r}", fields=["evidence"]) from None
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
    ids = check(uow, actor, evidence_ids)
    link(uow, case_id, ids)
    return ids
