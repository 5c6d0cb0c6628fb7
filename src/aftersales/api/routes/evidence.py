"""Evidence uploads (docs/api.md "Evidence")."""

import hashlib
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from ...domain.errors import ValidationFailed
from ...domain.media import EVIDENCE_KINDS, IMAGE_TYPES, MEDIA_TYPES, download_names
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
def upload(
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


@router.get(
    "/{evidence_id}/content",
    summary="The file itself",
    response_class=FileResponse,
    responses={200: {"description": "The file, as the type its content was detected as", "content": _CONTENT}},
)
def evidence_content(
    evidence_id: str,
    request: Request,
    actor: CurrentActor,
    disposition: Literal["attachment", "inline"] = Query(
        "attachment", description="`inline` (a preview in the page) is allowed for images only"
    ),
):
    row = read(request, lambda uow: evidence.get(uow, actor, evidence_id))
    if disposition == "inline" and row["media_type"] not in IMAGE_TYPES:
        raise ValidationFailed("only images may be shown inline", code="inline_not_allowed", fields=["disposition"])
    path = evidence.content_path(request.app.state.runtime.env, row["sha256"])
    return FileResponse(path, media_type=row["media_type"], headers=_served_headers(row, disposition))


def _served_headers(row, disposition: str) -> dict[str, str]:
    """A file a client uploaded is never a page of ours: downloaded by default, and even when an
    image is previewed inline, sandboxed (no script, no same-origin access) and never sniffed."""
    name, shown = download_names(row["filename"], row["media_type"], fallback=row["id"])
    return {
        # filename= is the plain ASCII name every client reads; filename* (RFC 6266) the real one.
        "Content-Disposition": f"{disposition}; filename=\"{name}\"; filename*=UTF-8''{quote(shown, safe='')}",
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
    }
