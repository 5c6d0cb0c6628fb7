"""极速退款 speedy refund: a qualifying buyer is refunded as the return ships back, not once it
arrives. The merchant may still dispute what arrives; if the platform then holds the buyer (or
anyone but the merchant) liable, the platform, not the merchant, bears that refund."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..domain import cases as case_rules
from ..domain.cases import Case
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import refunds
from .orders import ORDER
from .transitions import Act, record, seen


def at_ship_back(act: Act) -> dict[str, Any]:
    """The ship-back's effect: refund now if the request and its buyer qualify, else nothing."""
    case, policy = act.subject, act.env.policy(act.subject.policy)
    if not case_rules.speedy_refund_applies(case, policy.limit("speedy_refund_max_amount")):
        return {}
    if _held_liable_before(act.uow, case.buyer_id):
        return {}
    read = seen(ORDER, act.order)  # (the case stays open: the order's refund is recorded here)
    refund = refunds.refund_case(act.uow, act.order, case, policy, "original_payment", act.now)
    paid = {"refund_id": refund["id"], "refund_amount": refund["amount"], "after_sale_id": case.id}
    record(act.uow, read, action="refunded", actor=act.actor, now=act.now, data=paid)
    case.extra = {**case.extra, case_rules.SPEEDY: {"refund_id": refund["id"], "amount": refund["amount"]}}
    return {"refund_id": refund["id"], "refund_amount": refund["amount"], "speedy_refund": True}


def _held_liable_before(uow: UnitOfWork, buyer_id: str) -> bool:
    """Which buyers qualify: those no platform ruling has ever held liable."""
    d = t.disputes.c
    found = uow.execute(sa.select(d.id).where(d.buyer_id == buyer_id, d.liable_party == "buyer").limit(1))
    return found.first() is not None


def paid(case: Case) -> int:
    """What the case was refunded as its goods shipped back (0: no speedy refund)."""
    return int(case.extra.get(case_rules.SPEEDY, {}).get("amount", 0))
