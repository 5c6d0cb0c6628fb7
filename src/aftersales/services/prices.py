"""Price drops the marketplace reports, and what a price-protection request 价保 is owed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..domain import cases as case_rules
from ..domain.actions import Code, Line, typed
from ..domain.errors import Conflict, Forbidden, ValidationFailed
from ..domain.ids import new_id
from ..domain.money import MAX_AMOUNT
from ..domain.orders import Order
from ..domain.roles import MARKETPLACE
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env


@dataclass(frozen=True)
class NewPriceDrop:
    merchant_id: Code
    sku: Line
    price: int
    currency: str = "CNY"


def report(uow: UnitOfWork, env: Env, actor: Actor, data: NewPriceDrop | Mapping[str, Any]) -> dict[str, Any]:
    """The marketplace reports that an item now sells for less."""
    args = typed(NewPriceDrop, data)
    if actor.role not in MARKETPLACE:
        raise Forbidden("price drops are reported by the marketplace (integration or admin)")
    if isinstance(args.price, bool) or not isinstance(args.price, int) or not 0 <= args.price <= MAX_AMOUNT:
        raise ValidationFailed("price must be an integer in minor units", fields=["price"])
    now = env.clock.now()
    row = {
        "id": new_id("pd", now),
        "merchant_id": args.merchant_id,
        "sku": args.sku,
        "price": args.price,
        "currency": args.currency,
        "reported_by": actor.id,
        "created_at": now,
    }
    uow.execute(t.price_drops.insert().values(**row))
    return row


def listed(uow: UnitOfWork, merchant_id: str, sku: str | None = None) -> list[dict[str, Any]]:
    """A shop's reported drops, newest first (the latest 200). Prices are public: any caller may
    read them, so a buyer can cite one."""
    p = t.price_drops.c
    where = [p.merchant_id == merchant_id, *([p.sku == sku] if sku else [])]
    query = sa.select(t.price_drops).where(*where).order_by(p.created_at.desc(), p.id.desc()).limit(200)
    return [dict(r._mapping) for r in uow.execute(query)]


def owed(
    uow: UnitOfWork,
    order: Order,
    args: case_rules.NewCase,
    wanted: Mapping[str, int],
    value: int,
    now: datetime,
    window: Any,
) -> tuple[int, dict[str, Any]]:
    """What a price-protection request on `wanted` (worth `value`) is owed, and what the case
    keeps of its grounds: a reported drop of the shop's item after payment, once per drop, or a
    lower price the buyer shows with evidence (for the merchant to weigh)."""
    case_rules.check_price_protection(order.paid_at, now, window)
    if len(wanted) != 1:
        raise ValidationFailed("a price-protection request is about one item", fields=["items"])
    ((sku, quantity),) = wanted.items()
    if (args.price_drop_id is None) == (args.new_price is None):
        raise ValidationFailed("name the reported price_drop_id, or the new_price you saw", fields=["price_drop_id"])
    if args.price_drop_id is not None:
        drop = uow.execute(sa.select(t.price_drops).where(t.price_drops.c.id == args.price_drop_id)).first()
        if drop is None or drop.merchant_id != order.merchant_id or drop.sku != sku:
            raise ValidationFailed(
                "no such price drop of this item", code="unknown_price_drop", fields=["price_drop_id"]
            )
        if order.paid_at is None or drop.created_at < order.paid_at:
            raise ValidationFailed(
                "that price was reported before this order was paid", code="price_drop_before_payment"
            )
        _once(uow, order, drop.id)
        new_price, grounds = int(drop.price), {"price_drop_id": drop.id, "new_price": int(drop.price)}
    else:
        assert args.new_price is not None
        if not args.evidence:
            raise ValidationFailed("a price you saw needs evidence (a screenshot)", code="evidence_required")
        new_price, grounds = args.new_price, {"new_price": args.new_price}
    return case_rules.price_difference(value, quantity, new_price), grounds


def _once(uow: UnitOfWork, order: Order, drop_id: str) -> None:
    """A drop is paid once per order: not while another request on it is open or once one paid."""
    c = t.after_sales.c
    rows = uow.execute(
        sa.select(c.id, c.status, c.extra).where(c.order_id == order.id, c.type == "price_protection")
    ).all()
    for row in rows:
        if (row.extra or {}).get("price_protection", {}).get("price_drop_id") == drop_id and row.status != "closed":
            raise Conflict(
                f"request {row.id} already claims this price drop", code="price_drop_claimed", after_sale_id=row.id
            )
