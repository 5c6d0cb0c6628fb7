"""What each effect of a transition does: one handler per `Effect`, checked when the module loads.

A handler runs inside the action's transaction, after the subject took its inputs, and returns
the event's data about what it did (the refund, the violation, the dispute it opened).
"""

from __future__ import annotations

from typing import Any

from ..domain.actions import Effect, inputs_of
from . import disputes, negotiation, refunds, rulings, speedy_refund
from .transitions import Act, Hook


def _refund(method: str) -> Hook:
    def handler(act: Act) -> dict[str, Any]:
        case, policy = act.subject, act.env.policy(act.subject.policy)
        if speedy_refund.paid(case):  # (refunded as it shipped back: receipt pays nothing more)
            return {"speedy_refund": True}
        cited = list(getattr(act.inputs, "evidence", ()))  # (a COD voucher is the refund's proof)
        refund = refunds.refund_case(act.uow, act.order, case, policy, method, act.now, evidence=cited)
        return {"refund_id": refund["id"], "refund_amount": refund["amount"], **_ruled_bearer(act, refund["amount"])}

    return handler


def _ruled_bearer(act: Act, amount: int) -> dict[str, Any]:
    """A return_refund ruling's refund, paid once the goods are back, is borne by whom the ruling
    (as an appeal may have changed it) holds liable. The merchant paid it: from its order funds,
    its COD voucher, or the recovery of the platform's advance compensation."""
    case = act.subject
    if case.ruled_amount is None or case.dispute_id is None:
        return {}
    dispute = disputes.repo(act.uow).get(case.dispute_id)
    assert dispute is not None and dispute.liable_party is not None
    settlement = rulings.bear(act.uow, act.order, dispute, amount, "merchant", dispute.liable_party, act.now)
    return {"ruling_settlement_id": settlement["id"]} if settlement else {}


def _advance_compensation(act: Act) -> dict[str, Any]:
    """先行赔付: the platform pays the buyer, records a violation on the merchant and recovers the
    amount from it 追缴."""
    case, order = act.subject, act.order
    out = _ADVANCE_REFUND(act)
    policy = act.env.policy(case.policy)
    violation = refunds.record_violation(
        act.uow,
        merchant_id=case.merchant_id,
        kind="advance_compensation",
        points=policy.points_for("advance_compensation"),
        cause="COD refund voucher not uploaded in time; the platform paid the buyer first 先行赔付",
        now=act.now,
        order_id=order.id,
        after_sale_id=case.id,
        amount=out["refund_amount"],
        currency=order.currency,
    )
    recovery = refunds.settle(
        act.uow,
        order,
        direction="merchant_to_platform",
        amount=out["refund_amount"],
        cause="recovery of the platform's advance compensation 追缴",
        now=act.now,
        after_sale_id=case.id,
    )
    return {**out, "violation_id": violation["id"], "settlement_id": recovery["id"]}


def _platform_refund(act: Act) -> dict[str, Any]:
    case = act.subject
    refund = refunds.platform_refund(
        act.uow, act.order, case, act.env.policy(case.policy), act.inputs.refund_amount, act.now, None
    )
    return {"refund_id": refund["id"], "refund_amount": refund["amount"]}


def _open_dispute(act: Act) -> dict[str, Any]:
    case = act.subject
    case.dispute_id = disputes.open_for(act.uow, act.env, act.actor, case, inputs_of(act.inputs), act.now)
    return {"dispute_id": case.dispute_id}


def _refund_payment(act: Act) -> dict[str, Any]:
    """A paid order cancelled before shipping is refunded in full, shipping included."""
    order = act.subject
    owed = order.paid_amount - order.refunded_amount
    if owed <= 0:
        return {}
    refund = refunds.issue(act.uow, order, amount=owed, method="original_payment", now=act.now)
    return {"refund_id": refund["id"]}


def _merchant_unresponsive(act: Act) -> dict[str, Any]:
    complaint = act.subject
    policy = act.env.policy(complaint.policy)
    violation = refunds.record_violation(
        act.uow,
        merchant_id=complaint.merchant_id,
        kind="points",
        points=policy.points_for("complaint_unanswered"),
        cause=f"complaint {complaint.id} left unanswered 投诉未处理",
        now=act.now,
        order_id=complaint.order_id,
    )
    return {"violation_id": violation["id"]}


def _penalty_points(act: Act) -> dict[str, Any]:
    complaint, points = act.subject, act.inputs.penalty_points
    if not points:
        return {}
    violation = refunds.record_violation(
        act.uow,
        merchant_id=complaint.merchant_id,
        kind="points",
        points=points,
        cause=f"complaint {complaint.id} upheld: {complaint.category}",
        now=act.now,
        order_id=complaint.order_id,
    )
    return {"violation_id": violation["id"]}


_ADVANCE_REFUND = _refund("advance_compensation")
_ORIGINAL_REFUND = _refund("original_payment")


def _take_offer_refund(act: Act) -> dict[str, Any]:
    """The accepted offer is the request's amount, refunded to the original payment now."""
    return {**negotiation.take_offer(act), **_ORIGINAL_REFUND(act)}


HANDLERS: dict[Effect, Hook] = {
    Effect.REFUND_ORIGINAL_PAYMENT: _ORIGINAL_REFUND,
    Effect.REFUND_MERCHANT_COD: _refund("merchant_cod"),
    Effect.ADVANCE_COMPENSATION: _advance_compensation,
    Effect.PLATFORM_REFUND: _platform_refund,
    Effect.OPEN_DISPUTE: _open_dispute,
    Effect.REFUND_PAYMENT: _refund_payment,
    Effect.MERCHANT_UNRESPONSIVE: _merchant_unresponsive,
    Effect.PENALTY_POINTS: _penalty_points,
    Effect.MAKE_OFFER: negotiation.make_offer,
    Effect.TAKE_OFFER: negotiation.take_offer,
    Effect.TAKE_OFFER_REFUND: _take_offer_refund,
    Effect.EXTEND_DEADLINE: negotiation.extend,
    Effect.SPEEDY_REFUND: speedy_refund.at_ship_back,
}

_unhandled = sorted(e.value for e in set(Effect) - set(HANDLERS))
if _unhandled:
    raise ImportError(f"effects without a handler: {', '.join(_unhandled)}")
