"""Orders, fed and moved by the marketplace (docs/api.md "Orders")."""

from typing import Literal

from fastapi import APIRouter, Request

from ...domain import orders as orders_domain
from ...services import cases, orders, reads
from ...services.kinds import KINDS
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import eligibility_view, order_view, shown

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post("", status_code=201, summary="Feed an order in (integration, admin)", responses=out.ok(out.Order, 201))
def create_order(body: s.OrderIn, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    data = body.model_dump()
    return perform(
        request, actor, data, lambda uow: (201, shown(uow, order_view, orders.create(uow, env, actor, data), actor))
    )


@router.get("", summary="List orders the caller may see, newest first", responses=out.ok(out.OrderPage))
def list_orders(
    request: Request,
    actor: CurrentActor,
    status: Literal[orders_domain.STATUSES] | None = None,  # type: ignore[valid-type]
    merchant_id: str | None = None,
    buyer_id: str | None = None,
    cursor: s.Cursor = None,
    limit: s.Limit = 50,
):
    return listing(
        request,
        lambda uow: reads.orders(
            uow, actor, status=status, merchant_id=merchant_id, buyer_id=buyer_id, cursor=cursor, limit=limit
        ),
        lambda o, names: order_view(o, actor, names),
    )


@router.get("/{order_id}", responses=out.ok(out.Order))
def get_order(order_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: shown(uow, order_view, orders.get(uow, actor, order_id), actor)))


@router.get(
    "/{order_id}/eligibility",
    summary="What may still be asked for on the order, per item",
    responses=out.ok(out.Eligibility),
)
def order_eligibility(order_id: str, request: Request, actor: CurrentActor):
    env = request.app.state.runtime.env
    return respond(200, read(request, lambda uow: eligibility_view(cases.eligibility(uow, env, actor, order_id))))


@router.get(
    "/{order_id}/events", summary="The order's timeline, deadline firings included", responses=out.ok(out.Events)
)
def order_events(order_id: str, request: Request, actor: CurrentActor):
    return timeline(request, actor, "order", order_id)


add_action_routes(router, KINDS["order"], order_view, out.Order)
