"""Orders, fed and moved by the marketplace (docs/api.md "Orders")."""

from fastapi import APIRouter, Query, Request

from ...domain.errors import Forbidden
from ...services import orders
from ...services.context import scope
from ...store import tables as t
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import order_view

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post("", status_code=201, summary="Feed an order in (integration, admin)", responses=out.ok(out.Order, 201))
def create_order(body: s.OrderIn, request: Request, actor: CurrentActor):
    if actor.role not in ("integration", "admin"):
        raise Forbidden("orders are fed by the marketplace (integration or admin)")
    env = request.app.state.runtime.env
    data = body.model_dump()
    return perform(request, actor, data, lambda uow: (201, order_view(orders.create(uow, env, actor, data), actor)))


@router.get("", summary="List orders the caller may see, newest first", responses=out.ok(out.OrderPage))
def list_orders(
    request: Request,
    actor: CurrentActor,
    status: str | None = None,
    merchant_id: str | None = None,
    buyer_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    c = t.orders.c
    where = scope(actor, c, merchant_id=merchant_id, buyer_id=buyer_id, status=status)

    return listing(request, t.orders, where, cursor, limit, lambda uow, r: order_view(uow.orders.load(r), actor))


@router.get("/{order_id}", responses=out.ok(out.Order))
def get_order(order_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: order_view(orders.get(uow, actor, order_id), actor)))


@router.get(
    "/{order_id}/events", summary="The order's timeline, deadline firings included", responses=out.ok(out.Events)
)
def order_events(order_id: str, request: Request, actor: CurrentActor):
    return timeline(request, "order", lambda uow: orders.get(uow, actor, order_id))


def _run(uow, env, actor, order_id, action, params, expected):
    return order_view(orders.act(uow, env, actor, order_id, action, params, if_match=expected), actor)


add_action_routes(
    router,
    {
        "pay": (s.Empty, "Payment received (integration): awaiting_payment -> stocking"),
        "confirm": (s.Empty, "Merchant confirms a COD order: awaiting_confirmation -> stocking"),
        "ship": (s.Shipment, "Shipped with carrier and tracking number: stocking -> shipped"),
        "deliver": (s.Empty, "Delivered (integration): shipped -> delivered"),
        "complete": (s.Empty, "Completed (integration): delivered -> completed"),
        "cancel": (s.Cancel, "Cancel by the rules of the payment method"),
    },
    _run,
    out.Order,
)
