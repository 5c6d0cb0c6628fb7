"""协商 and 延长时效 on a request: the merchant's partial-refund offers, the buyer's answer, and
the merchant's one extension of its pending deadline. Effect handlers (services/effects.py).

A case keeps its offers in `extra["offers"]` (the last is live while the case awaits the buyer)
and its extension in `extra["extension"]`; the timeline has each with its amounts and times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.errors import Conflict, ValidationFailed
from ..domain.money import check_amount
from .transitions import Act, pause_deadline

OFFERS, EXTENSION = "offers", "extension"


def offers(case: Any) -> list[dict[str, Any]]:
    return list(case.extra.get(OFFERS, []))


def live_offer(case: Any) -> dict[str, Any] | None:
    """The offer the buyer is answering, with when it lapses; None unless the case awaits it."""
    made = offers(case)
    if case.status != "awaiting_buyer" or not made:
        return None
    return {**made[-1], "expires_at": case.deadline_due_at.isoformat() if case.deadline_due_at else None}


def make_offer(act: Act) -> dict[str, Any]:
    """Within the request's amount and the policy's number of offers; the merchant's clock stops
    with what it has left, to resume when the buyer declines or lets the offer lapse (no fresh
    48 h per offer)."""
    case, amount = act.subject, act.inputs.amount
    check_amount(amount, case.amount)
    made = offers(case)
    cap = act.env.policy(case.policy).limit("offers_per_case")
    if len(made) >= cap:
        raise Conflict(f"{cap} offers were made on this request already", code="offer_limit_reached", limit=cap)
    pause_deadline(case, act.now, status="pending_merchant")
    offer = {"amount": amount, "note": act.inputs.note, "offered_at": act.now.isoformat(), "by": act.actor.id}
    case.extra = {**case.extra, OFFERS: [*made, offer]}
    return {"offer_number": len(made) + 1, "amount_asked": case.amount}


def take_offer(act: Act) -> dict[str, Any]:
    """The request's amount becomes the offered one: what the refund (or the COD voucher) pays."""
    case = act.subject
    asked, case.amount = case.amount, offers(case)[-1]["amount"]
    return {"amount_asked": asked, "amount": case.amount}


def extend(act: Act) -> dict[str, Any]:
    """Once per request, by at most the policy's merchant_extension_max: the pending deadline moves
    later by `hours` (held as a paused timer with the extra time, which `schedule` resumes at once;
    an offer later pauses it with the extension included)."""
    case, hours = act.subject, act.inputs.hours
    if case.extra.get(EXTENSION):
        raise Conflict("this request's deadline was extended already", code="extension_used")
    limit = act.env.policy(case.policy).timer("merchant_extension_max")
    if hours <= 0 or timedelta(hours=hours) > limit:
        raise ValidationFailed(
            f"an extension is 1 to {limit // timedelta(hours=1)} hours under {case.policy}",
            code="extension_out_of_bounds",
            fields=["hours"],
            max_hours=limit // timedelta(hours=1),
        )
    before = case.deadline_due_at
    assert before is not None  # (the merchant's steps always have a timer; a lapsed one refuses it)
    after = before + timedelta(hours=hours)
    pause_deadline(case, act.now, plus=timedelta(hours=hours))
    extension = {"hours": hours, "reason": act.inputs.reason, "from": before.isoformat(), "to": after.isoformat()}
    case.extra = {**case.extra, EXTENSION: {**extension, "at": act.now.isoformat(), "status": case.status}}
    return {"due_at_before": before.isoformat(), "due_at_after": after.isoformat()}
