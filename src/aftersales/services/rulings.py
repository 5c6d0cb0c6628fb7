"""Rulings 判责 and appeals 申诉: the platform's decisions, executed in the same transaction,
with their money (refund ledger, platform-merchant settlements) and sanctions (violations)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..domain import disputes as domain
from ..domain.actions import inputs_of, typed
from ..domain.cases import RULED_OPEN, Case, PlatformRefund, PlatformReturn
from ..domain.disputes import DISPUTE_MACHINE, Dispute
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..domain.ids import new_id
from ..domain.money import refundable
from ..domain.orders import Order
from ..domain.roles import PARTIES
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import cases, disputes, refunds, speedy_refund
from .cases import CASE
from .context import SYSTEM, Actor, Env
from .disputes import DISPUTE, repo
from .orders import ORDER
from .transitions import Act, apply, record, seen


def rule(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    inputs: domain.Rule | Mapping[str, Any],
    if_match: int | None = None,
) -> Dispute:
    args: domain.Rule = disputes.SPECS["rule"].typed(inputs)
    dispute = disputes.get(uow, actor, dispute_id)
    case, order = _case_and_order(uow, dispute)
    amount = domain.ruling_amount(args.outcome, args.amount, args.liable_party, case.amount)
    if args.liable_party == "creator" and not order.creator_id:
        raise ValidationFailed("this order names no creator 达人 to hold liable", fields=["liable_party"])
    address = args.return_address or case.return_address
    if args.outcome == "return_refund":
        if case.status != "in_intervention":
            raise ValidationFailed(
                "a return_refund ruling is for a request the platform intervened in, not a closed one",
                fields=["outcome"],
            )
        if not address:
            raise ValidationFailed("a return_refund ruling needs the return_address", fields=["return_address"])
    now = env.clock.now()

    def then(step: Act) -> dict[str, Any]:
        dispute.ruled_at = now
        if args.outcome == "return_refund":
            granted, out = _order_return(uow, env, actor, case, order, amount, address)
        else:
            granted, out = _execute(uow, env, actor, dispute, case, order, amount)
        # The dispute's amount is what it paid, or for a return what it pays once the goods are back
        # (the refund ledger agrees; the audit replays it).
        dispute.amount = granted or None
        # A speedy refund paid before the goods arrived is borne by whom the ruling holds liable too.
        borne = out.get("refund_amount", 0) + (speedy_refund.paid(case) if dispute.kind == "intervention" else 0)
        out.update(_consequences(uow, env, dispute, order, borne, args.liable_party, now))
        return {"amount": amount, **out}

    apply(uow, env, actor, DISPUTE, dispute, "rule", args, if_match=if_match, then=then, now=now)
    return dispute


def _case_and_order(uow: UnitOfWork, dispute: Dispute) -> tuple[Case, Order]:
    case, order = uow.cases.get(dispute.after_sale_id), uow.orders.get(dispute.order_id)
    assert case is not None and order is not None
    return case, order


def _execute(
    uow: UnitOfWork, env: Env, actor: Actor, dispute: Dispute, case: Case, order: Order, amount: int
) -> tuple[int, dict[str, Any]]:
    """The ruling moves the case to its end and pays what it grants, but never more than is still
    refundable on the order: what another request already refunded is recorded as
    `settled_elsewhere`, so a decision is always executable and no path pays twice. Returns what
    was paid now and what the event records. A speedy refund 极速退款 the case already got counts
    toward what the ruling grants."""
    early = speedy_refund.paid(case) if case.status == "in_intervention" else 0
    paid, out = _capped(env, case, order, max(0, amount - early))
    if paid:
        out["refund_amount"] = paid
    if paid and case.status in RULED_OPEN:
        cases.act(uow, env, actor, case.id, "platform_refund", PlatformRefund(refund_amount=paid))
        out["after_sale_status"] = "refunded"
    elif paid:  # already refunded in part (a partial ruling overturned): pay the rest
        _pay(uow, env, actor, order, case, paid, env.clock.now())
        out["after_sale_status"] = case.status
    elif case.status == "in_intervention" and early and amount:
        # Granted, and already paid as the goods shipped back: the request ends refunded.
        cases.act(uow, env, actor, case.id, "platform_settle")
        out["after_sale_status"] = "refunded"
    elif case.status == "in_intervention":
        cases.act(uow, env, actor, case.id, "platform_deny")
        out["after_sale_status"] = "closed"
    return paid, out


def _capped(env: Env, case: Case, order: Order, amount: int) -> tuple[int, dict[str, Any]]:
    """What of `amount` is still refundable on the order and the case's units, and the rest as
    `settled_elsewhere`."""
    paid = min(amount, refundable(order, env.policy(case.policy)), refunds.case_refundable(order, case))
    return paid, ({"settled_elsewhere": amount - paid} if paid < amount else {})


def _order_return(
    uow: UnitOfWork, env: Env, actor: Actor, case: Case, order: Order, amount: int, address: str | None
) -> tuple[int, dict[str, Any]]:
    """退货退款 by ruling: the case waits for the goods (the buyer's ship-return timer runs) and
    refunds what is still refundable of `amount` once the merchant, or its timer, confirms them."""
    owed, out = _capped(env, case, order, amount)
    if not owed:
        cases.act(uow, env, actor, case.id, "platform_deny")
        return 0, {**out, "after_sale_status": "closed"}
    cases.act(uow, env, actor, case.id, "platform_return", PlatformReturn(ruled_amount=owed, return_address=address))
    return owed, {**out, "return_refund_amount": owed, "after_sale_status": "awaiting_return"}


def _pay(uow: UnitOfWork, env: Env, actor: Actor, order: Order, case: Case, amount: int, now: datetime) -> None:
    """A ruling pays more on a case already refunded in part: a refund on the order and the case."""
    order_read, case_read = seen(ORDER, order), seen(CASE, case)
    refund = refunds.platform_refund(uow, order, case, env.policy(case.policy), amount, now)
    paid = {"refund_id": refund["id"], "refund_amount": refund["amount"]}
    record(uow, order_read, action="refunded", actor=actor, now=now, data={**paid, "after_sale_id": case.id})
    record(uow, case_read, action="refunded", actor=actor, now=now, data=paid)


def _consequences(
    uow: UnitOfWork, env: Env, dispute: Dispute, order: Order, paid: int, liable: str, now: datetime
) -> dict[str, Any]:
    """The sanction when the merchant is at fault (alone: the ruling's points; shared: fewer), and
    who bears what the ruling `paid` now (a ruled return's refund is borne when it is paid)."""
    out: dict[str, Any] = {}
    points = {"merchant": "ruling_against_merchant", "both": "ruling_shared_fault"}.get(liable)
    if points:
        violation = refunds.record_violation(
            uow,
            merchant_id=dispute.merchant_id,
            kind="points",
            points=env.policy(dispute.policy).points_for(points),
            cause=f"platform ruling {dispute.id}: {'merchant' if liable == 'merchant' else 'shared fault'} liable",
            now=now,
            order_id=dispute.order_id,
            after_sale_id=dispute.after_sale_id,
            dispute_id=dispute.id,
        )
        out["violation_id"] = violation["id"]
    method = "original_payment" if order.payment_method == "online" else "advance_compensation"
    settlement = bear(uow, order, dispute, paid, refunds.FIRST_BORNE_BY[method], liable, now)
    if settlement:
        out["settlement_id"] = settlement["id"]
    return out


def bear(
    uow: UnitOfWork, order: Order, dispute: Dispute, amount: int, paid_by: str, liable: str, now: datetime
) -> dict[str, Any] | None:
    """The settlement making the party `liable` under the ruling bear `amount` the buyer got."""
    bearer = domain.bearer(liable)
    causes = {
        "merchant": "recovery of the platform's advance payment 追缴",
        "platform": f"refund borne by the platform ({liable} liable)",
        "creator": f"refund borne by the creator 达人 {order.creator_id}",
    }
    return refunds.bear(
        uow,
        order,
        amount=amount,
        paid_by=paid_by,
        bearer=bearer,
        now=now,
        dispute_id=dispute.id,
        after_sale_id=dispute.after_sale_id,
        cause=causes[bearer],
    )


def appeal(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    dispute_id: str,
    inputs: domain.Appeal | Mapping[str, Any],
    if_match: int | None = None,
) -> dict[str, Any]:
    """The losing party appeals 申诉 within the appeal window; a different agent decides."""
    args: domain.Appeal = disputes.SPECS["appeal"].typed(inputs)
    dispute = disputes.get(uow, actor, dispute_id)
    now = env.clock.now()
    row = dict(
        id=new_id("ap", now),
        dispute_id=dispute.id,
        after_sale_id=dispute.after_sale_id,
        buyer_id=dispute.buyer_id,
        merchant_id=dispute.merchant_id,
        appellant_role=actor.role,
        appellant_id=actor.id,
        grounds=args.grounds,
        evidence=list(args.evidence),
        status="pending",
        decision=None,
        rationale=None,
        decided_by=None,
        decided_at=None,
        created_at=now,
    )

    def then(step: Act) -> dict[str, Any]:
        uow.execute(t.appeals.insert().values(**row))
        return {"appeal_id": row["id"]}

    apply(uow, env, actor, DISPUTE, dispute, "appeal", args, if_match=if_match, then=then, now=now)
    return _with_actions(row, dispute, actor)


def get_appeal(uow: UnitOfWork, actor: Actor, appeal_id: str) -> dict[str, Any]:
    disputes.check_audience(actor)
    row = uow.execute(sa.select(t.appeals).where(t.appeals.c.id == appeal_id)).first()
    if row is None or not actor.sees(row.buyer_id, row.merchant_id):
        raise NotFound("appeal not found")
    dispute = repo(uow).get(row.dispute_id)
    assert dispute is not None
    return _with_actions(dict(row._mapping), dispute, actor)


def appeals_of(uow: UnitOfWork, actor: Actor, dispute_id: str) -> list[dict[str, Any]]:
    dispute = disputes.get(uow, actor, dispute_id)
    a = t.appeals.c
    return [
        _with_actions(dict(r._mapping), dispute, actor)
        for r in uow.execute(sa.select(t.appeals).where(a.dispute_id == dispute_id).order_by(a.created_at, a.id))
    ]


def _with_actions(appeal: dict[str, Any], dispute: Dispute, actor: Actor) -> dict[str, Any]:
    """An appeal as its caller reads it: a pending one may be decided by an agent other than the
    one who ruled (the dispute machine's rule, so nothing is offered that would answer 403)."""
    offered = appeal["status"] == "pending" and "decide" in DISPUTE_MACHINE.allowed_actions(dispute, actor.role, actor)
    return {**appeal, "actions": ["decide"] if offered else []}


def decide(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    appeal_id: str,
    inputs: domain.DecideAppeal | Mapping[str, Any],
    if_match: int | None = None,
) -> dict[str, Any]:
    args: domain.DecideAppeal = disputes.SPECS["decide"].typed(inputs)
    appeal_row = get_appeal(uow, actor, appeal_id)
    dispute = repo(uow).get(appeal_row["dispute_id"])
    assert dispute is not None
    now = env.clock.now()
    decision = args.decision

    def then(step: Act) -> dict[str, Any]:
        out: dict[str, Any] = {"appeal_id": appeal_id}
        if decision == "overturn":
            out.update(_overturn(uow, env, actor, dispute, appeal_row["appellant_role"], now))
        uow.execute(
            t.appeals.update()
            .where(t.appeals.c.id == appeal_id)
            .values(
                status="upheld" if decision == "uphold" else "overturned",
                decision=decision,
                rationale=args.rationale,
                decided_by=actor.id,
                decided_at=now,
            )
        )
        return out

    apply(uow, env, actor, DISPUTE, dispute, "decide", args, if_match=if_match, then=then, now=now)
    return get_appeal(uow, actor, appeal_id)


def _overturn(
    uow: UnitOfWork, env: Env, actor: Actor, dispute: Dispute, appellant: str, now: datetime
) -> dict[str, Any]:
    """Reverse the ruling's effects without losing a cent: a buyer never pays back a refund, and a
    refund a ruled return still owes is still paid once the goods are back."""
    case, order = _case_and_order(uow, dispute)
    granted = refunds.refunded_on(uow, case.id)
    if appellant == "merchant":
        revoked = refunds.revoke_violations(uow, dispute_id=dispute.id, reason="appeal overturned", now=now)
        if domain.bearer(dispute.liable_party or "none") == "merchant":
            # The merchant paid (order funds, or a recovery for COD): the platform bears it now, and
            # bears a ruled return's refund when it is paid. A creator held liable still bears its.
            if granted:
                bear(uow, order, dispute, granted, "merchant", "platform", now)
            dispute.liable_party = "platform"
        return {"revoked_violations": revoked}
    paid, out = _execute(uow, env, actor, dispute, case, order, case.amount - granted)
    out.update(_consequences(uow, env, dispute, order, paid, "merchant", now))
    dispute.outcome, dispute.amount, dispute.liable_party = "refund", (granted + paid) or None, "merchant"
    return out


def finalize(uow: UnitOfWork, env: Env, dispute_id: str, *, deadline_id: int | None = None) -> Dispute:
    """The appeal window lapsed: the ruling is final."""
    dispute = repo(uow).get(dispute_id)
    if dispute is None:
        raise NotFound("dispute not found")
    apply(uow, env, SYSTEM, DISPUTE, dispute, "finalize", deadline_id=deadline_id)
    return dispute


def apply_for_arbitration(
    uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewArbitration | Mapping[str, Any]
) -> Dispute:
    """仲裁: a party asks the platform to arbitrate a case that ended without a ruling."""
    args = typed(domain.NewArbitration, data)
    if actor.role not in PARTIES:
        raise Forbidden("arbitration is applied for by the buyer or the merchant")
    case = cases.get(uow, actor, args.after_sale_id)
    if case.status != "closed":
        raise ValidationFailed(
            "arbitration is for a closed request; a refused one is escalated instead", code="not_arbitrable"
        )
    d = t.disputes.c
    live = uow.execute(sa.select(d.id).where(d.after_sale_id == case.id, d.status.in_(domain.UNSETTLED)))
    if live.first() is not None:
        raise ValidationFailed("this request already has a live dispute", code="dispute_exists")
    # The order's other business comes first, as for a new request: arbitration may refund the
    # order, so not while another request on it is open or another dispute about it unsettled.
    order = uow.orders.get(case.order_id)
    assert order is not None
    if order.open_case_ids:
        first = order.open_case_ids[0]
        raise Conflict(
            f"after-sales request {first} is open on this order; apply once it is closed",
            code="case_already_open",
            open_case_id=first,
        )
    now = env.clock.now()
    pending = cases.unsettled_dispute(uow, order.id, now)
    if pending is not None:
        raise Conflict(
            f"dispute {pending[0]} about this order is not settled yet ({pending[1]})",
            code="dispute_pending",
            dispute_id=pending[0],
            dispute_status=pending[1],
        )
    # Claim the order as a filing does (compare-and-set on its version): an arbitration and a new
    # request racing on one order get one winner, never two claims on the same money.
    read = seen(ORDER, order)
    dispute_id = disputes.open_for(uow, env, actor, case, inputs_of(args), now, kind="arbitration")
    claim = {"dispute_id": dispute_id, "after_sale_id": case.id}
    record(uow, read, action="arbitration_applied", actor=actor, now=now, data=claim)
    found = repo(uow).get(dispute_id)
    assert found is not None
    return found
