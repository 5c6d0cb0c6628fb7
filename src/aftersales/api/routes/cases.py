"""After-sales cases (docs/api.md "After-sales cases")."""

from fastapi import APIRouter, Query, Request

from ...services import cases
from ...services.context import scope
from ...store import tables as t
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import case_view

router = APIRouter(prefix="/v1/after-sales", tags=["after-sales"])


@router.post("", status_code=201, summary="File an after-sales request (buyer)", responses=out.ok(out.Case, 201))
def file_case(body: s.CaseIn, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    data = body.model_dump()
    return perform(request, actor, data, lambda uow: (201, case_view(cases.file(uow, env, actor, data), actor)))


@router.get("", summary="List cases the caller may see, newest first", responses=out.ok(out.CasePage))
def list_cases(
    request: Request,
    actor: CurrentActor,
    status: str | None = None,
    merchant_id: str | None = None,
    order_id: str | None = None,
    buyer_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    where = scope(actor, t.after_sales.c, status=status, merchant_id=merchant_id, order_id=order_id, buyer_id=buyer_id)

    return listing(request, t.after_sales, where, cursor, limit, lambda uow, r: case_view(uow.cases.load(r), actor))


@router.get("/{case_id}", responses=out.ok(out.Case))
def get_case(case_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: case_view(cases.get(uow, actor, case_id), actor)))


@router.get(
    "/{case_id}/events", summary="The case's full timeline, deadline firings included", responses=out.ok(out.Events)
)
def case_events(case_id: str, request: Request, actor: CurrentActor):
    return timeline(request, "after_sale", lambda uow: cases.get(uow, actor, case_id))


def _run(uow, env, actor, case_id, action, params, expected):
    return case_view(cases.act(uow, env, actor, case_id, action, params, if_match=expected), actor)


add_action_routes(
    router,
    {
        "approve": (s.Approve, "Merchant agrees (return types need return_address)"),
        "reject": (s.Reject, "Merchant refuses with a reason"),
        "ship-return": (s.Shipment, "Buyer ships the goods back"),
        "confirm-receipt": (s.ConfirmReceipt, "Merchant confirms the returned goods (exchange: with new tracking)"),
        "refund-voucher": (s.Voucher, "Merchant uploads its COD refund voucher"),
        "withdraw": (s.Withdraw, "Buyer withdraws the request"),
        "escalate": (s.Statement, "Refused buyer calls in the platform 平台介入"),
        "dispute-return": (s.DisputeReturn, "Merchant disputes the returned goods"),
        "confirm-exchange": (s.Empty, "Buyer confirms the replacement arrived"),
    },
    _run,
    out.Case,
)
