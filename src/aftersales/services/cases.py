"""After-sales cases: filing, every party's action and every automatic one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import cases as domain
from ..domain.cases import CASE_MACHINE, Case
from ..domain.errors import Conflict, DeadlinePassed, Forbidden, IllegalTransition, ValidationFailed
from ..domain.ids import new_id
from ..domain.machine import Transition
from ..domain.money import check_amount, refundable
from ..domain.orders import Order
from ..store.unit_of_work import UnitOfWork
from . import disputes, evidence, refunds
from .context import SYSTEM as SYSTEM_ACTOR
from .context import Actor, Env, visible
from .orders import ORDER
from .transitions import Kind, apply, arm_deadline, notice, write_deadline

CASE = Kind(
    name="after_sale",
    machine=CASE_MACHINE,
    deadlines=domain.DEADLINES,
    snapshot_fields=("status", "amount", "deadline_action", "deadline_due_at"),
    repo=lambda uow: uow.cases,
    # A system action moving a case between open statuses (auto_approve of a return) touches
    # nothing else; refunds and closing (which frees the order) go through `act`.
    set_based=lambda case, tr, now: {} if tr.effect is None and tr.target not in domain.TERMINAL else None,
)
# Order statuses a request may be filed from, and which types each allows.
_FILE_FROM = {
    "shipped": {"refund_only"},  # e.g. never arrived
    "delivered": set(domain.TYPES),
    "completed": set(domain.TYPES),
}


def file(uow: UnitOfWork, env: Env, actor: Actor, data: dict[str, Any]) -> Case:
    if actor.role != "buyer":
        raise Forbidden("only the buyer files an after-sales request")
    order = visible(uow.orders.get(data["order_id"]), actor, "order")
    now = env.clock.now()
    policy = env.policy(order.policy)
    _check_fileable(order, data["type"], now, policy.timer("after_sales_window"))
    if data["reason"] not in domain.REASONS:
        raise ValidationFailed(f"unknown reason {data['reason']!r}; see GET /v1/reasons", fields=["reason"])
    limit = refundable(order, policy)
    if limit == 0:
        raise Conflict("nothing is left to refund on this order", code="nothing_refundable")
    amount = check_amount(data["amount"], limit) if data.get("amount") is not None else limit
    case = Case(
        id=new_id("as", now),
        order_id=order.id,
        buyer_id=order.buyer_id,
        merchant_id=order.merchant_id,
        payment_method=order.payment_method,
        type=data["type"],
        reason=data["reason"],
        amount=amount,
        currency=order.currency,
        status="pending_merchant",
        policy=policy.key,
        created_at=now,
        updated_at=now,
        description=data.get("description") or "",
        evidence=evidence.check(uow, actor, data.get("evidence") or []),
    )
    # One open request per order: claimed with compare-and-set, so two racing requests get one winner.
    expected = order.version
    order.open_case_id = case.id
    save_order(uow, order, expected, now)
    arm_deadline(uow, env, CASE, case, now)
    uow.cases.insert(case)
    evidence.link(uow, case.id, case.evidence)
    uow.events.record(
        kind=CASE.name,
        subject_id=case.id,
        action="file",
        actor_role=actor.role,
        actor_id=actor.id,
        at=now,
        before=None,
        after={"status": case.status, "amount": amount},
        data={
            "type": case.type,
            "reason": case.reason,
            "description": case.description,
            "evidence": case.evidence,
            "policy": case.policy,
        },
    )
    return case


def _check_fileable(order: Order, case_type: str, now: datetime, window: Any) -> None:
    if order.open_case_id:
        raise Conflict(
            f"after-sales request {order.open_case_id} is still open for this order",
            code="case_already_open",
            open_case_id=order.open_case_id,
        )
    allowed = _FILE_FROM.get(order.status)
    if allowed is None:
        raise IllegalTransition(f"no after-sales request on an order in status {order.status!r}", status=order.status)
    if case_type not in allowed:
        raise IllegalTransition(f"a request of type {case_type} needs the goods delivered", status=order.status)
    if order.status == "completed" and order.completed_at and now > order.completed_at + window:
        raise DeadlinePassed("the after-sales period 售后期 of this order is over", code="after_sales_period_over")


def get(uow: UnitOfWork, actor: Actor, case_id: str) -> Case:
    return visible(uow.cases.get(case_id), actor, "after-sales case")


# What each party's action takes besides the transition itself: (required, optional) inputs.
_INPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "approve": ((), ("return_address",)),
    "reject": (("reason",), ("note", "evidence")),
    "ship_return": (("carrier", "tracking_number"), ()),
    "confirm_receipt": ((), ("carrier", "tracking_number")),
    "refund_voucher": (("evidence",), ()),
    "withdraw": ((), ("reason",)),
    "escalate": (("statement",), ("evidence",)),
    "dispute_return": (("reason", "statement"), ("evidence",)),
    "confirm_exchange": ((), ()),
}


def act(
    uow: UnitOfWork,
    env: Env,
    actor: Actor,
    case_id: str,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    if_match: int | None = None,
    deadline_id: int | None = None,
) -> Case:
    params = {k: v for k, v in (params or {}).items() if v not in (None, "", [])}
    case = get(uow, actor, case_id)
    order = uow.orders.get(case.order_id)
    assert order is not None
    now = env.clock.now()
    required, _optional = _INPUTS.get(action, ((), ()))
    missing = [n for n in required if n not in params]

    def effects(tr: Transition) -> dict[str, Any]:
        if missing:
            raise ValidationFailed(f"missing {', '.join(missing)}", fields=missing)
        out = _record_inputs(uow, actor, case, tr, params)
        out.update(_money_and_sanctions(uow, env, case, order, tr, now, params, out.get("evidence")))
        if tr.effect == "open_dispute":
            case.dispute_id = disputes.open_for(uow, env, actor, case, params, now)
            out["dispute_id"] = case.dispute_id
        if tr.target in domain.TERMINAL:
            case.closed_at = now
            _release_order(uow, order, case)
            if case.dispute_id and tr.action == "withdraw":
                disputes.close(uow, case.dispute_id, now, outcome="withdrawn")
        return out

    apply(uow, env, actor, CASE, case, action, if_match=if_match, effects=effects, deadline_id=deadline_id, now=now)
    return case


def _record_inputs(uow: UnitOfWork, actor: Actor, case: Case, tr: Transition, params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if "evidence" in params:
        out["evidence"] = evidence.cite(uow, actor, case.id, params["evidence"])
        case.evidence = list(dict.fromkeys([*case.evidence, *out["evidence"]]))
    if tr.action == "approve" and tr.target == "awaiting_return":
        if "return_address" not in params:
            raise ValidationFailed("a return needs the merchant's return_address", fields=["return_address"])
        case.return_address = params["return_address"]
    elif tr.action == "reject":
        case.reject_reason, case.reject_note = params["reason"], params.get("note")
    elif tr.action == "ship_return":
        case.return_carrier, case.return_tracking = params["carrier"], params["tracking_number"]
    elif tr.action == "confirm_receipt" and tr.target == "exchange_shipped":
        if not ("carrier" in params and "tracking_number" in params):
            raise ValidationFailed(
                "an exchange ships the replacement: carrier and tracking_number", fields=["carrier", "tracking_number"]
            )
        case.exchange_carrier, case.exchange_tracking = params["carrier"], params["tracking_number"]
    return out


def _money_and_sanctions(
    uow: UnitOfWork,
    env: Env,
    case: Case,
    order: Order,
    tr: Transition,
    now: datetime,
    params: dict[str, Any],
    cited: list[str] | None,
) -> dict[str, Any]:
    if tr.effect is None or tr.effect == "open_dispute":
        return {}
    policy = env.policy(case.policy)
    if tr.effect == "platform_refund":
        refund = refunds.platform_refund(uow, order, case, policy, params["refund_amount"], now, cited)
        return {"refund_id": refund["id"], "refund_amount": refund["amount"]}
    method = {
        "refund_original_payment": "original_payment",
        "refund_merchant_cod": "merchant_cod",
        "advance_compensation": "advance_compensation",
    }[tr.effect]
    refund = refunds.refund_case(uow, order, case, policy, method, now, evidence=cited)
    out: dict[str, Any] = {"refund_id": refund["id"], "refund_amount": refund["amount"]}
    if tr.effect == "advance_compensation":
        violation = refunds.record_violation(
            uow,
            merchant_id=case.merchant_id,
            kind="advance_compensation",
            points=policy.points_for("advance_compensation"),
            cause="COD refund voucher not uploaded in time; the platform paid the buyer first 先行赔付",
            now=now,
            order_id=order.id,
            after_sale_id=case.id,
            amount=refund["amount"],
            currency=order.currency,
        )
        recovery = refunds.settle(
            uow,
            order,
            direction="merchant_to_platform",
            amount=refund["amount"],
            cause="recovery of the platform's advance compensation 追缴",
            now=now,
            after_sale_id=case.id,
        )
        out.update(violation_id=violation["id"], settlement_id=recovery["id"])
    return out


def _release_order(uow: UnitOfWork, order: Order, case: Case) -> None:
    """A closed case frees the order for a new request (within the after-sales period)."""
    if order.open_case_id == case.id:
        order.open_case_id = None
    expected = order.version
    order.updated_at = case.updated_at
    save_order(uow, order, expected, case.updated_at)


def save_order(uow: UnitOfWork, order: Order, expected: int, now: datetime) -> None:
    """Save an order a case or a ruling changed outside the order's machine. Its pending deadline
    (auto-complete) is re-armed at the new version: the engine skips a row armed at an older one
    as stale, and the order would never complete."""
    uow.orders.save(order, expected)
    write_deadline(uow, ORDER, order, now)


def ruling_overdue(uow: UnitOfWork, env: Env, case_id: str, *, deadline_id: int) -> Case:
    """The platform's own ruling SLA lapsed: no status changes, the breach goes on the record."""
    case = get(uow, SYSTEM_ACTOR, case_id)
    if case.status != "in_intervention":
        raise IllegalTransition("ruling SLA only runs during an intervention", status=case.status)
    if case.dispute_id:
        disputes.mark_sla_breached(uow, case.dispute_id, env.clock.now())
    notice(
        uow,
        env,
        CASE,
        case,
        "ruling_overdue",
        deadline_id=deadline_id,
        topic="dispute.sla_breached",
        data={"dispute_id": case.dispute_id},
    )
    return case
