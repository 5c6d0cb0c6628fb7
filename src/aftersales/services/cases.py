"""After-sales cases: filing, every party's action and every automatic one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..domain import cases as domain
from ..domain import disputes as dispute_rules
from ..domain.actions import typed
from ..domain.cases import CASE_MACHINE, Case
from ..domain.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from ..domain.ids import new_id
from ..domain.money import check_amount, refundable
from ..domain.orders import Order
from ..domain.roles import BUYER
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import disputes, evidence
from .context import SYSTEM as SYSTEM_ACTOR
from .context import Actor, Env, visible
from .orders import ORDER
from .transitions import Act, Kind, apply, arm_deadline, creation, notice, record, seen

CASE = Kind(
    name="after_sale",
    machine=CASE_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=("status", "amount", "dispute_id", "closed_at", "deadline_action", "deadline_due_at"),
    # The platform's ruling SLA lapsing; the rest of a ruling paid on a case already refunded; a
    # message of the negotiation record (services/messages.py).
    records=frozenset({"ruling_overdue", "refunded", "message_posted"}),
    created_by="file",
    repo=lambda uow: uow.cases,
    # A system action moving a case between open statuses (auto_approve of a return) touches
    # nothing else; refunds and closing (which frees the order) go through `act`.
    set_based=lambda case, tr, now: {} if tr.effect is None and tr.target not in domain.TERMINAL else None,
)


def file(uow: UnitOfWork, env: Env, actor: Actor, data: domain.NewCase | Mapping[str, Any]) -> Case:
    args = typed(domain.NewCase, data)
    if actor.role != BUYER:
        raise Forbidden("only the buyer files an after-sales request")
    order = visible(uow.orders.get(args.order_id), actor, "order")
    now = env.clock.now()
    policy = env.policy(order.policy)
    if args.type not in domain.TYPES:
        raise ValidationFailed(f"type must be one of {', '.join(domain.TYPES)}", fields=["type"])
    _check_fileable(uow, order, args.type, now, policy.timer("after_sales_window"))
    if args.reason not in domain.REASONS:
        raise ValidationFailed(f"unknown reason {args.reason!r}; see GET /v1/reasons", fields=["reason"])
    limit = refundable(order, policy)
    if limit == 0:
        raise Conflict("nothing is left to refund on this order", code="nothing_refundable")
    amount = check_amount(args.amount, limit) if args.amount is not None else limit
    case = Case(
        id=new_id("as", now),
        order_id=order.id,
        buyer_id=order.buyer_id,
        merchant_id=order.merchant_id,
        payment_method=order.payment_method,
        type=args.type,
        reason=args.reason,
        amount=amount,
        currency=order.currency,
        status="pending_merchant",
        policy=policy.key,
        created_at=now,
        updated_at=now,
        description=args.description or "",
        evidence=evidence.check(uow, actor, list(args.evidence)),
    )
    # One open request per order: claimed with compare-and-set, so two racing requests get one winner.
    read = seen(ORDER, order)
    order.open_case_id = case.id
    record(uow, read, action="after_sale_opened", actor=actor, now=now, data={"after_sale_id": case.id})
    arm_deadline(uow, env, CASE, case, now)
    uow.cases.insert(case)
    evidence.link(uow, case.id, case.evidence)
    creation(
        uow,
        CASE,
        case,
        actor,
        now,
        {
            "type": case.type,
            "reason": case.reason,
            "description": case.description,
            "evidence": case.evidence,
            "policy": case.policy,
        },
    )
    return case


def _check_fileable(uow: UnitOfWork, order: Order, case_type: str, now: datetime, window: Any) -> None:
    """One open request per order, and none while a dispute about the order is unsettled: a
    ruling still open to appeal (or appealed) may yet refund the order, and a request paid in the
    meantime would leave that money claimed twice (and the appeal with nothing left to pay)."""
    if order.open_case_id:
        raise Conflict(
            f"after-sales request {order.open_case_id} is still open for this order",
            code="case_already_open",
            open_case_id=order.open_case_id,
        )
    pending = unsettled_dispute(uow, order.id, now)
    if pending is not None:
        dispute_id, status = pending
        raise Conflict(
            f"dispute {dispute_id} about this order is not settled yet ({status}); file again once it is final",
            code="dispute_pending",
            dispute_id=dispute_id,
            dispute_status=status,
        )
    domain.check_fileable(order, case_type, now, window)


def unsettled_dispute(uow: UnitOfWork, order_id: str, now: datetime) -> tuple[str, str] | None:
    """(id, status) of a dispute about any case of the order that is not settled yet, if any. A
    ruling whose appeal window has lapsed is settled even before the worker finalizes it: nobody
    may appeal it any more. Reached through the order's cases: both joins are indexed."""
    d, c = t.disputes.c, t.after_sales.c
    in_window = sa.or_(d.deadline_due_at.is_(None), d.deadline_due_at > now)
    row = uow.execute(
        sa.select(d.id, d.status)
        .join_from(t.disputes, t.after_sales, d.after_sale_id == c.id)
        .where(
            c.order_id == order_id,
            d.status.in_(dispute_rules.UNSETTLED),
            sa.or_(d.status != "ruled", in_window),
        )
        .order_by(d.created_at, d.id)
        .limit(1)
    ).first()
    return (row.id, row.status) if row is not None else None


def get(uow: UnitOfWork, actor: Actor, case_id: str) -> Case:
    return visible(uow.cases.get(case_id), actor, "after-sales case")


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    case_id: str,
    action: str,
    inputs: Any = None,
    *,
    if_match: int | None = None,
    deadline_id: int | None = None,
) -> Case:
    """Take `action` (its spec's typed inputs, or none) on the case."""
    case = get(uow, actor, case_id)
    order = uow.orders.get(case.order_id)
    assert order is not None
    order_read = seen(ORDER, order)  # (a refund the action pays counts on the order before it closes)

    def then(step: Act) -> dict[str, Any]:
        if step.transition.target in domain.TERMINAL:
            case.closed_at = step.now
            # The order is freed for a new request and counts what this case refunded.
            if order.open_case_id == case.id:
                order.open_case_id = None
            closed = {"after_sale_id": case.id, "status": case.status}
            record(uow, order_read, action="after_sale_closed", actor=step.actor, now=step.now, data=closed)
            if case.dispute_id and step.transition.action == "withdraw":
                disputes.close(uow, env, step.actor, case.dispute_id)
        return {}

    apply(
        uow,
        env,
        actor,
        CASE,
        case,
        action,
        inputs,
        if_match=if_match,
        then=then,
        order=order,
        deadline_id=deadline_id,
        now=env.clock.now(),
    )
    return case


def ruling_overdue(uow: UnitOfWork, env: Env, case_id: str, *, deadline_id: int) -> Case:
    """The platform's own ruling SLA lapsed: no status changes, the breach goes on the record."""
    case = get(uow, SYSTEM_ACTOR, case_id)
    if case.status != "in_intervention":
        raise IllegalTransition("ruling SLA only runs during an intervention", status=case.status)
    notice(uow, env, CASE, case, "ruling_overdue", deadline_id=deadline_id, data={"dispute_id": case.dispute_id})
    if case.dispute_id:
        disputes.mark_sla_breached(uow, env, case.dispute_id)
    return case
