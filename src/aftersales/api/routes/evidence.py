"""Evidence uploads (docs/api.md "Evidence")."""

import hashlib
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, StreamingResponse

from ...domain.errors import ValidationFailed
from ...domain.media import EVIDENCE_KINDS, IMAGE_TYPES, MEDIA_TYPES, content_disposition, download_names
from ...services import evidence
from .. import responses as out
from ..actions import perform, read
from ..auth import CurrentActor
from ..views import row_view

EvidenceKind = Literal[EVIDENCE_KINDS]  # type: ignore[valid-type]

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])
_PUBLIC = ("id", "sha256", "media_type", "size", "kind", "filename", "created_at")


def _public(row):
    return row_view({k: row[k] for k in _PUBLIC})


@router.post("", status_code=201, summary="Upload a file (multipart: file, kind)", responses=out.ok(out.Evidence, 201))
def upload_evidence(
    request: Request,
    actor: CurrentActor,
    file: UploadFile = File(...),
    kind: Literal[EVIDENCE_KINDS] = Form(...),  # type: ignore[valid-type]
):
    env = request.app.state.runtime.env

    def work(uow):
        row = evidence.upload(uow, env, actor, kind=kind, stream=file.file, filename=file.filename)
        return 201, _public(row)

    # The idempotency fingerprint of an upload is its content, not the multipart framing.
    digest = hashlib.sha256()
    while chunk := file.file.read(1 << 16):
        digest.update(chunk)
    file.file.seek(0)
    return perform(request, actor, {"kind": kind, "sha256": digest.hexdigest()}, work)


@router.get("/{evidence_id}", responses=out.ok(out.Evidence))
def get_evidence(evidence_id: str, request: Request, actor: CurrentActor):
    return read(request, lambda uow: _public(evidence.get(uow, actor, evidence_id)))


_CONTENT = {mt: {"schema": {"type": "string", "format": "binary"}} for mt in MEDIA_TYPES}
# How long a pre-signed download URL of an S3 backend stays valid: long enough to follow the
# redirect, short enough that a URL copied from a log or a browser's history is soon useless.
PRESIGNED_FOR = timedelta(minutes=5)
_REDIRECT: dict[int | str, dict[str, Any]] = {
    307: {
        "description": "With object storage (AFTERSALES_STORAGE=s3): a pre-signed URL of the file, valid 5 minutes",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    }
}
Disposition = Literal["attachment", "inline"]
_DISPOSITION = Query("attachment", description="`inline` (a preview in the page) is allowed for images only")


@router.get(
    "/{evidence_id}/content",
    summary="The file itself",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The file, as the type its content was detected as", "content": _CONTENT},
        **_REDIRECT,
    },
)
def evidence_content(
    evidence_id: str,
    request: Request,
    actor: CurrentActor,
    disposition: Disposition = _DISPOSITION,
    variant: Literal[evidence.VARIANTS] | None = Query(  # type: ignore[valid-type]
        None,
        description="`original` (as uploaded: the uploader's and the platform's, the default for them) or "
        "`stripped` (an image without EXIF and location: what the other party of a case gets)",
    ),
):
    return serve(request, actor, evidence_id, variant, disposition)


@router.get(
    "/{evidence_id}/thumbnail",
    summary="A thumbnail of an image (JPEG, 320 px on its longest side, no metadata)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The thumbnail",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_REDIRECT,
    },
)
def evidence_thumbnail(
    evidence_id: str, request: Request, actor: CurrentActor, disposition: Disposition = _DISPOSITION
):
    return serve(request, actor, evidence_id, "thumbnail", disposition)


def serve(request: Request, actor, evidence_id: str, variant: str | None, disposition: str):
    """A file as `actor` may have it (the console's evidence links serve through here too)."""
    env = request.app.state.runtime.env
    row = read(request, lambda uow: evidence.get(uow, actor, evidence_id))
    if disposition == "inline" and row["media_type"] not in IMAGE_TYPES:
        raise ValidationFailed("only images may be shown inline", code="inline_not_allowed", fields=["disposition"])
    copy = evidence.served(env, actor, row, variant)
    headers = _served_headers(row, copy, disposition)
    url = (
        env.storage.url(
            copy.key, PRESIGNED_FOR, content_type=copy.media_type, disposition=headers["Content-Disposition"]
        )
        if copy.key
        else None
    )
    if url is not None:
        # Authorised here, fetched from the bucket: the bytes never pass through the API.
        return RedirectResponse(
            url, status_code=307, headers={"Cache-Control": "no-store", "X-Evidence-Variant": copy.variant}
        )
    if copy.data is not None:
        headers["Content-Length"] = str(len(copy.data))
    elif copy.variant == "original":
        headers["Content-Length"] = str(row["size"])  # a copy's size is known only once read
    return StreamingResponse(evidence.open_served(env, copy), media_type=copy.media_type, headers=headers)


def _served_headers(row, copy: evidence.Served, disposition: str) -> dict[str, str]:
    """A file a client uploaded is never a page of ours: downloaded by default, and even when an
    image is previewed inline, sandboxed (no script, no same-origin access) and never sniffed."""
    name, shown = download_names(row["filename"], copy.media_type, fallback=row["id"])
    return {
        "Content-Disposition": content_disposition(disposition, name, shown),
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
        # Which copy this is (original, stripped or thumbnail): docs/api.md "Evidence".
        "X-Evidence-Variant": copy.variant,
    }
