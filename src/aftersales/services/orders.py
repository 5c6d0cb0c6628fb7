"""Orders fed in by the marketplace and moved along by it, the merchant, the buyer or the system."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain import lines
from ..domain import orders as domain
from ..domain.actions import typed
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..domain.machine import Transition
from ..domain.money import MAX_AMOUNT
from ..domain.orders import ORDER_MACHINE, Order
from ..domain.roles import MARKETPLACE
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env, visible
from .transitions import Kind, apply, arm_deadline, creation

ORDER = Kind(
    name="order",
    machine=ORDER_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=(
        "status",
        "paid_amount",
        "refunded_amount",
        "units",
        "cancel_reason",
        "deadline_action",
        "deadline_due_at",
    ),
    # A case claims units of the order and lets them go, and refunds count against the order.
    # An arbitration claims the order too, so that it and a new request never both win.
    records=frozenset({"after_sale_opened", "after_sale_closed", "refunded", "arbitration_applied"}),
    repo=lambda uow: uow.orders,
    set_based=lambda order, tr, now, _context: None if tr.effect else _stamp(order, tr, now),
    # Douyin pauses the buyer's automatic receipt confirmation during after-sales.
    paused=lambda order: bool(order.open_case_ids),
)
# Which timestamp each status stamps.
_STAMPS = {
    "stocking": None,
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


def create(uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewOrder | Mapping[str, Any]) -> Order:
    """The shapes and bounds are the API's to check; here are the rules about the values."""
    args = typed(domain.NewOrder, data)
    if actor.role not in MARKETPLACE:
        raise Forbidden("orders are fed by the marketplace (integration or admin)")
    if args.payment_method not in domain.PAYMENT_METHODS:
        raise ValidationFailed("payment_method must be online or cod", fields=["payment_method"])
    policy_key = args.policy or env.default_policy
    try:
        env.policy(policy_key)
    except NotFound:
        raise ValidationFailed(f"unknown policy {policy_key!r}; see GET /v1/policies", fields=["policy"]) from None
    items = [typed(domain.Item, i) for i in args.items]
    if not items:
        raise ValidationFailed("an order needs at least one item")
    if len({i.sku for i in items}) < len(items):
        raise ValidationFailed("each item of an order has its own sku", code="duplicate_sku", fields=["items"])
    goods_total = sum(i.quantity * i.unit_price for i in items)
    if goods_total + args.shipping_fee > MAX_AMOUNT:
        raise ValidationFailed("order total is out of range")
    if not 0 <= args.discount <= goods_total:
        raise ValidationFailed("discount must lie between 0 and the goods total", fields=["discount"])
    existing = uow.orders.get(args.id)
    if existing is not None:
        raise Conflict(f"order {args.id} already exists", code="order_exists")
    now = env.clock.now()
    refundable_shipping = args.shipping_fee if env.policy(policy_key).shipping_refundable else 0
    plain = [dataclasses.asdict(i) for i in items]
    order = Order(
        id=args.id,
        buyer_id=args.buyer_id,
        merchant_id=args.merchant_id,
        payment_method=args.payment_method,
        currency=args.currency,
        shipping_fee=args.shipping_fee,
        items=plain,
        goods_total=goods_total,
        discount=args.discount,
        units=lines.price(plain, goods_total - args.discount + refundable_shipping),
        status=domain.initial_status(args.payment_method),
        policy=policy_key,
        created_at=now,
        updated_at=now,
        creator_id=args.creator_id,
    )
    arm_deadline(uow, env, ORDER, order, now)
    uow.orders.insert(order)
    data = {"policy": order.policy, "payment_method": order.payment_method}
    creation(uow, ORDER, order, actor, now, {**data, "creator_id": order.creator_id} if order.creator_id else data)
    return order


def get(uow: UnitOfWork, actor: Actor, order_id: str) -> Order:
    return visible(uow.orders.get(order_id), actor, "order")


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    order_id: str,
    action: str,
    inputs: Any = None,
    *,
    deadline_id: int | None = None,
    if_match: int | None = None,
) -> Order:
    """Take `action` (its spec's typed inputs, or none) on the order."""
    order = get(uow, actor, order_id)
    apply(
        uow,
        env,
        actor,
        ORDER,
        order,
        action,
        inputs,
        then=lambda step: _stamp(order, step.transition, step.now),
        deadline_id=deadline_id,
        if_match=if_match,
        now=env.clock.now(),
    )
    return order


def _stamp(order: Order, tr: Transition, now: datetime) -> dict[str, Any]:
    """What a transition stamps on the order besides its inputs, and the event data saying so."""
    out: dict[str, Any] = {}
    stamp = _STAMPS.get(tr.target)
    if stamp:
        setattr(order, stamp, now)
    if tr.action == "pay" or (tr.target == "delivered" and order.payment_method == domain.COD):
        order.paid_amount, order.paid_at = order.total, now  # COD is paid to the courier
    if tr.target == "cancelled":
        order.cancel_reason = order.cancel_reason or ("unpaid" if tr.action == "auto_cancel" else None)
        out["reason"] = order.cancel_reason
    return out
