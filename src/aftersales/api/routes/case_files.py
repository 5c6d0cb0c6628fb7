"""Case file export: JSON a machine can verify, PDF a person can read."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ...export import pdf
from ...services import case_file
from ...services.context import Actor
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
def case_file_pdf(
    case_id: str,
    request: Request,
    actor: CurrentActor,
    lang: pdf.Lang = Query("zh", description="The reader's language: Simplified Chinese (default) or English"),
    tz: str | None = Query(
        None, max_length=64, description="The reader's IANA time zone (default: the shop's, else UTC)"
    ),
):
    return pdf_download(request, actor, case_id, lang, tz)


def pdf_download(request: Request, actor: Actor, case_id: str, lang: pdf.Lang, tz: str | None) -> Response:
    """The case file as a PDF download (the console's export link serves through here too)."""
    pdf.check_zone(tz)
    env = request.app.state.runtime.env
    body = read(request, lambda uow: case_file.build(uow, env, actor, case_id))
    return Response(
        pdf.render(body, lang, tz),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="case-file-{case_id}.pdf"'},
    )


def json_download(request: Request, actor: Actor, case_id: str) -> JSONResponse:
    """The case file as a JSON download, for the console's export link."""
    env = request.app.state.runtime.env
    body = read(request, lambda uow: case_file.build(uow, env, actor, case_id))
    headers = {"Content-Disposition": f'attachment; filename="case-file-{case_id}.json"'}
    return JSONResponse(body, headers=headers)
