"""After-sales cases (docs/api.md "After-sales cases")."""

from typing import Literal

from fastapi import APIRouter, Request

from ...domain import cases as domain
from ...services import cases, reads
from ...services.kinds import KINDS
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import case_view, shown

router = APIRouter(prefix="/v1/after-sales", tags=["after-sales"])


@router.post("", status_code=201, summary="File an after-sales request (buyer)", responses=out.ok(out.Case, 201))
def file_after_sale(body: s.CaseIn, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    data = body.model_dump()
    return perform(
        request, actor, data, lambda uow: (201, shown(uow, case_view, cases.file(uow, env, actor, data), actor))
    )


@router.get("", summary="List cases the caller may see, newest first", responses=out.ok(out.CasePage))
def list_after_sales(
    request: Request,
    actor: CurrentActor,
    status: Literal[domain.STATUSES] | None = None,  # type: ignore[valid-type]
    merchant_id: str | None = None,
    order_id: str | None = None,
    buyer_id: str | None = None,
    cursor: s.Cursor = None,
    limit: s.Limit = 50,
):
    return listing(
        request,
        lambda uow: reads.cases(
            uow,
            actor,
            status=status,
            merchant_id=merchant_id,
            order_id=order_id,
            buyer_id=buyer_id,
            cursor=cursor,
            limit=limit,
        ),
        lambda c, names: case_view(c, actor, names),
    )


@router.get("/{case_id}", responses=out.ok(out.Case))
def get_after_sale(case_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: shown(uow, case_view, cases.get(uow, actor, case_id), actor)))


@router.get(
    "/{case_id}/events", summary="The case's full timeline, deadline firings included", responses=out.ok(out.Events)
)
def after_sale_events(case_id: str, request: Request, actor: CurrentActor):
    return timeline(request, actor, "after_sale", case_id)


add_action_routes(router, KINDS["after_sale"], case_view, out.Case)
