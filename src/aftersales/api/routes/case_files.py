"""Case file export: JSON a machine can verify, PDF a person can read."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...export import pdf
from ...services import case_file
from .. import responses as out
from ..actions import read
from ..auth import CurrentActor

router = APIRouter(prefix="/v1/after-sales", tags=["after-sales"])


@router.get(
    "/{case_id}/case-file",
    summary="The whole case as verifiable JSON (parties and agents)",
    responses=out.ok(out.CaseFile),
)
def case_file_json(case_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return read(request, lambda uow: case_file.build(uow, env, actor, case_id))


@router.get(
    "/{case_id}/case-file.pdf",
    summary="The whole case as a PDF (parties and agents)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def case_file_pdf(case_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    body = read(request, lambda uow: case_file.build(uow, env, actor, case_id))
    return Response(
        pdf.render(body),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="case-file-{case_id}.pdf"'},
    )
