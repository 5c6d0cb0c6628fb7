"""What a receiver gets for one event: the same message on a webhook and on the stream.

An outbox row's payload is the event as `store/repositories.py` wrote it; this turns it into the
public shape, `{"type", "timestamp", "data"}` (Standard Webhooks), with a stable id (the
`webhook-id` and the stream's `Nats-Msg-Id`, the same on every retry) and an ordering key
(`subject`): messages about one subject are delivered in the order they were written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Commands read as what happened (`approve` -> `after_sale.approved`); the records and timers
# below already do. tests/unit/test_envelope.py fails on an action of a kind that is in neither.
ALREADY_PAST = frozenset(
    {
        "after_sale_opened",
        "after_sale_closed",
        "arbitration_applied",
        "refunded",
        "message_posted",
        "offer_lapsed",
        "ruling_overdue",
        "review_overdue",
        "deadline_approaching",
    }
)
PAST = {
    "create": "created",
    "file": "created",
    "post": "created",
    "pay": "paid",
    "confirm": "confirmed",
    "ship": "shipped",
    "deliver": "delivered",
    "complete": "completed",
    "cancel": "cancelled",
    "approve": "approved",
    "offer": "offer_made",
    "accept_offer": "offer_accepted",
    "decline_offer": "offer_declined",
    "extend": "extended",
    "reject": "rejected",
    "ship_return": "return_shipped",
    "confirm_receipt": "receipt_confirmed",
    "refund_voucher": "refund_voucher_uploaded",
    "confirm_exchange": "exchange_confirmed",
    "reship": "reshipped",
    "confirm_reship": "reship_confirmed",
    "withdraw": "withdrawn",
    "escalate": "escalated",
    "dispute_return": "return_disputed",
    "accept": "accepted",
    "decline": "declined",
    "assign": "assigned",
    "open": "opened",
    "submit_evidence": "evidence_submitted",
    "request_evidence": "evidence_requested",
    "rule": "ruled",
    "appeal": "appealed",
    "decide": "decided",
    "finalize": "finalized",
    "close": "closed",
    "reply": "replied",
    "propose_solution": "solution_proposed",
    "approve_solution": "solution_approved",
    "reject_solution": "solution_rejected",
    "auto_cancel": "auto_cancelled",
    "auto_complete": "auto_completed",
    "auto_approve": "auto_approved",
    "auto_close": "auto_closed",
    "auto_confirm_receipt": "receipt_auto_confirmed",
    "auto_confirm": "auto_confirmed",
    "auto_escalate": "auto_escalated",
    "advance_compensation": "advance_compensated",  # 先行赔付: the platform paid first
    "platform_refund": "platform_refunded",
    "platform_deny": "platform_denied",
    "platform_settle": "platform_settled",
    "platform_return": "platform_return_ordered",
}


# An appeal 申诉 is a step of its dispute's machine (and is ordered with it), but a subject of its
# own for receivers: `appeal.*` hears every appeal.
OWN_TYPES = {("dispute", "appeal"): "appeal.filed", ("dispute", "decide"): "appeal.decided"}


def event_type(kind: str, action: str) -> str:
    """`after_sale.approved`: the public name of an action on a kind."""
    return OWN_TYPES.get((kind, action)) or f"{kind}.{PAST.get(action, action)}"


@dataclass(frozen=True)
class Message:
    id: str  # "msg_<event id>": webhook-id and Nats-Msg-Id, the same on every retry
    type: str  # "<subject>.<action>", e.g. after_sale.approved
    subject: str  # ordering key, e.g. "after_sale:AS1"
    timestamp: datetime
    data: dict[str, Any]
    merchant_id: str | None = None  # the shop it concerns: its webhook endpoints hear it

    def matches(self, filters: list[str]) -> bool:
        """Whether an endpoint's `events` filters (`*`, `after_sale.*`, `dispute.ruled`) take it."""
        prefix = self.type.split(".", 1)[0]
        return any(f in ("*", self.type, f"{prefix}.*") for f in filters)

    def body(self) -> bytes:
        doc = {"type": self.type, "timestamp": self.timestamp.isoformat(), "data": self.data}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def from_outbox(topic: str, payload: dict[str, Any]) -> Message:
    """The message of an outbox row: its topic and its payload (the event with its id). A topic
    other than the default `<kind>.<action>` names the event itself (`dispute.sla_breached`)."""
    kind, action = payload["subject_kind"], payload["action"]
    at = datetime.fromisoformat(payload["at"])
    data = {
        "event_id": payload["id"],
        "subject": kind,
        "id": payload["subject_id"],
        "action": action,
        "actor": {"role": payload["actor_role"], "id": payload["actor_id"]},
        "at": payload["at"],
        "before": payload.get("before"),
        "after": payload.get("after"),
        "data": payload.get("data") or {},
        # services/transitions.py `meta`: whose it is, the rules it runs under, what comes next.
        **{key: payload.get(key) for key in ("merchant_id", "buyer_id", "policy", "version", "next_deadline")},
    }
    return Message(
        id=f"msg_{payload['id']}",
        type=event_type(kind, action) if topic == f"{kind}.{action}" else topic,
        subject=f"{kind}:{payload['subject_id']}",
        timestamp=at,
        data=data,
        merchant_id=payload.get("merchant_id"),
    )
