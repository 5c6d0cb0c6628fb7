"""The money ledgers: refunds to buyers, platform-merchant settlements, and merchant violations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..domain import lines
from ..domain.cases import Case, goods_came_back
from ..domain.errors import AmountExceedsRefundable
from ..domain.ids import new_id
from ..domain.money import PAYER, refundable
from ..domain.orders import Order
from ..domain.policy import Policy
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork


def issue(
    uow: UnitOfWork,
    order: Order,
    *,
    amount: int,
    method: str,
    now: datetime,
    case: Case | None = None,
    evidence: list[str] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Record a refund, `pending` until the payment provider pays it, and count it against the
    order, and a case's against the units it is about, at once. `limit` defaults to the paid total: no path may ever refund more than the buyer paid,
    nor a case more than was paid for its units."""
    ceiling = order.paid_amount - order.refunded_amount if limit is None else limit
    units, ended = order.units, case is not None and not lines.held(order.units, case.id)
    if case is not None:
        # A case that has ended (a ruling paying on a request already closed or refunded) takes
        # back what is free of its items for the refund; units a later request settled are
        # gone, and the ruling pays less (settled elsewhere).
        units = lines.claim(units, _free_of(units, case), case.id)[0] if ended else units
        ceiling = min(ceiling, lines.value_of(units, case.id))
    if amount > ceiling:
        raise AmountExceedsRefundable(f"refund {amount} exceeds the refundable {ceiling}", refundable=ceiling)
    if case is not None:
        units = lines.refund(units, case.id, amount)
        order.units = lines.release(units, case.id, goods_back=goods_came_back(case)) if ended else units
    row = dict(
        id=new_id("rf", now),
        order_id=order.id,
        after_sale_id=case.id if case else None,
        buyer_id=order.buyer_id,
        merchant_id=order.merchant_id,
        amount=amount,
        currency=order.currency,
        payer=PAYER[method],
        method=method,
        # Decided now, paid once the payment provider confirms it (services/payments.py submits
        # it after this transaction commits); its amount counts against the order from now on.
        status="pending",
        evidence=evidence or [],
        created_at=now,
        completed_at=None,
        attempts=0,
        next_attempt_at=now,
        late=False,
    )
    uow.execute(t.refunds.insert().values(**row))
    order.refunded_amount += amount
    return row


def case_refundable(order: Order, case: Case) -> int:
    """What the case's units may still get back: those it holds, or for a case that has ended
    what is free of its items (see `issue`)."""
    units = order.units
    if not lines.held(units, case.id):
        units = lines.claim(units, _free_of(units, case), case.id)[0]
    return lines.value_of(units, case.id)


def _free_of(units: lines.Units, case: Case) -> dict[str, int]:
    """What is free of the case's items, up to its quantities."""
    free = {i["sku"]: min(lines.remaining(units, i["sku"]), i["quantity"]) for i in case.items}
    return {sku: n for sku, n in free.items() if n}


def refund_case(
    uow: UnitOfWork,
    order: Order,
    case: Case,
    policy: Policy,
    method: str,
    now: datetime,
    evidence: list[str] | None = None,
) -> dict[str, Any]:
    """Refund what the case asked for (or what a return_refund ruling granted), within what is still
    refundable under its policy."""
    return issue(
        uow,
        order,
        amount=case.refund_due,
        method=method,
        now=now,
        case=case,
        evidence=evidence,
        limit=refundable(order, policy),
    )


def platform_refund(
    uow: UnitOfWork,
    order: Order,
    case: Case,
    policy: Policy,
    amount: int,
    now: datetime,
    evidence: list[str] | None = None,
) -> dict[str, Any]:
    """A refund the platform decided (a ruling or appeal): back to the original payment online;
    for COD the platform pays first 先行赔付. Within what is still refundable."""
    method = "original_payment" if order.payment_method == "online" else "advance_compensation"
    return issue(
        uow, order, amount=amount, method=method, now=now, case=case, evidence=evidence, limit=refundable(order, policy)
    )


def record_violation(
    uow: UnitOfWork,
    *,
    merchant_id: str,
    kind: str,
    points: int,
    cause: str,
    now: datetime,
    order_id: str | None = None,
    after_sale_id: str | None = None,
    dispute_id: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    row = dict(
        id=new_id("vi", now),
        merchant_id=merchant_id,
        kind=kind,
        points=points,
        status="active",
        cause=cause,
        order_id=order_id,
        after_sale_id=after_sale_id,
        dispute_id=dispute_id,
        amount=amount,
        currency=currency,
        revoked_at=None,
        revoked_reason=None,
        created_at=now,
    )
    uow.execute(t.violations.insert().values(**row))
    return row


def revoke_violations(uow: UnitOfWork, *, dispute_id: str, reason: str, now: datetime) -> list[str]:
    """A won appeal takes the ruling's violations off the merchant's record (kept, marked revoked)."""
    v = t.violations.c
    ids = [r.id for r in uow.execute(sa.select(v.id).where(v.dispute_id == dispute_id, v.status == "active"))]
    if ids:
        uow.execute(
            t.violations.update().where(v.id.in_(ids)).values(status="revoked", revoked_at=now, revoked_reason=reason)
        )
    return ids


def settle(
    uow: UnitOfWork,
    order: Order,
    *,
    direction: str,
    amount: int,
    cause: str,
    now: datetime,
    after_sale_id: str | None = None,
    dispute_id: str | None = None,
    bearer: str | None = None,
) -> dict[str, Any]:
    """Money between platform and merchant (or a creator): who finally bears a refund the buyer
    already has. `bearer` defaults to the party the direction makes pay."""
    bearer = bearer or ("merchant" if direction == "merchant_to_platform" else "platform")
    row = dict(
        id=new_id("st", now),
        merchant_id=order.merchant_id,
        order_id=order.id,
        after_sale_id=after_sale_id,
        dispute_id=dispute_id,
        direction=direction,
        bearer=bearer,
        creator_id=order.creator_id if bearer == "creator" else None,
        amount=amount,
        currency=order.currency,
        cause=cause,
        created_at=now,
    )
    uow.execute(t.settlements.insert().values(**row))
    return row


# Who bears a refund before any settlement: the merchant's order funds pay an original-payment refund
# (and the merchant its own COD voucher); the platform pays its advance compensation 先行赔付.
FIRST_BORNE_BY = {"original_payment": "merchant", "merchant_cod": "merchant", "advance_compensation": "platform"}


def bear(
    uow: UnitOfWork,
    order: Order,
    *,
    amount: int,
    paid_by: str,
    bearer: str,
    now: datetime,
    dispute_id: str,
    after_sale_id: str,
    cause: str,
) -> dict[str, Any] | None:
    """The settlement that moves `amount` of a ruling's refund from the party that paid it
    (`paid_by`: merchant or platform) to the one that finally bears it (merchant, platform or
    creator); None when they are the same. The platform makes the merchant whole for a creator's
    share and takes it from the creator (its commission), so a creator never pays the merchant."""
    if not amount or bearer == paid_by:
        return None
    if bearer == "merchant":
        direction = "merchant_to_platform"
    elif paid_by == "merchant":
        direction = "platform_to_merchant"
    else:
        direction = "creator_to_platform"
    return settle(
        uow,
        order,
        direction=direction,
        amount=amount,
        now=now,
        dispute_id=dispute_id,
        after_sale_id=after_sale_id,
        cause=cause,
        bearer=bearer,
    )


def borne(refunds: list[dict[str, Any]], settlements: list[dict[str, Any]]) -> dict[str, int]:
    """What each party finally bears of `refunds` given the `settlements` about them: each refund
    starts with who paid it (FIRST_BORNE_BY), each settlement moves its amount from the party it
    relieves to its bearer. The shares always sum to what was refunded."""
    out = {"merchant": 0, "platform": 0, "creator": 0}
    for r in refunds:
        out[FIRST_BORNE_BY[r["method"]]] += r["amount"]
    for s in settlements:
        relieved = "merchant" if s["direction"] == "platform_to_merchant" else "platform"
        out[relieved] -= s["amount"]
        out[s["bearer"]] += s["amount"]
    return out


def refunded_on(uow: UnitOfWork, after_sale_id: str) -> int:
    """What the buyer was refunded on this case so far."""
    r = t.refunds.c
    total = uow.execute(sa.select(sa.func.coalesce(sa.func.sum(r.amount), 0)).where(r.after_sale_id == after_sale_id))
    return int(total.scalar_one())


def list_settlements(uow: UnitOfWork, *where: Any) -> list[dict[str, Any]]:
    s = t.settlements.c
    return [dict(r._mapping) for r in uow.execute(sa.select(t.settlements).where(*where).order_by(s.created_at, s.id))]


def list_refunds(uow: UnitOfWork, *where: Any) -> list[dict[str, Any]]:
    r = t.refunds.c
    rows = uow.execute(sa.select(t.refunds).where(*where).order_by(r.created_at, r.id))
    return [dict(row._mapping) for row in rows]


def list_violations(uow: UnitOfWork, merchant_id: str) -> list[dict[str, Any]]:
    v = t.violations.c
    rows = uow.execute(sa.select(t.violations).where(v.merchant_id == merchant_id).order_by(v.created_at, v.id))
    return [dict(row._mapping) for row in rows]
