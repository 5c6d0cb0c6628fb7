"""Disputes: platform intervention 平台介入 and arbitration 仲裁, ruled by agents, open to appeal 申诉.

Intervention: opened by a refused buyer's escalation or a merchant's disputed return; both
parties get an evidence period; an agent rules within the platform's SLA; the loser may appeal
within the appeal window to a different agent. Arbitration: applied for by a party, first
accepted or declined by the platform, then ruled once and for all by an assigned arbitrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .machine import Machine, transition

KINDS = ("intervention", "arbitration")
STATUSES = ("applied", "open", "under_review", "ruled", "appealed", "final", "declined")
# Not settled yet: a ruling may still come, or still change on appeal. While a dispute about any
# case of an order is unsettled, that order takes no new request (its money is not yet known).
UNSETTLED = ("applied", "open", "under_review", "ruled", "appealed")
OUTCOMES = ("refund", "partial_refund", "deny")
LIABLE_PARTIES = ("merchant", "buyer", "logistics", "platform", "none")
DECISIONS = ("uphold", "overturn")
PARTIES = ("buyer", "merchant")
# status -> (system action, policy timer)
DEADLINES = {"ruled": ("finalize", "appeal_window")}
AGENTS = ("agent", "admin")


@dataclass
class Dispute:
    id: str
    after_sale_id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    status: str
    opened_by: str
    created_at: datetime
    updated_at: datetime
    policy: str = "douyin@1"
    kind: str = "intervention"
    reason: str | None = None
    statements: list[dict[str, Any]] = field(default_factory=list)
    assignee: str | None = None
    deadline_due_at: datetime | None = None
    deadline_action: str | None = None
    sla_breached: bool = False
    evidence_due: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None
    amount: int | None = None
    liable_party: str | None = None
    rationale: str | None = None
    ruled_by: str | None = None
    ruled_at: datetime | None = None
    ruling_due_at: datetime | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def losers(outcome: str) -> tuple[str, ...]:
    """Who may appeal a ruling: the buyer a denial, the merchant a refund, both a partial one."""
    return {"deny": ("buyer",), "refund": ("merchant",), "partial_refund": ("buyer", "merchant")}[outcome]


def _intervention(d: Dispute) -> bool:
    return d.kind == "intervention"


def _arbitration(d: Dispute) -> bool:
    return d.kind == "arbitration"


_LIVE = ("open", "under_review")

DISPUTE_MACHINE = Machine(
    "dispute",
    [
        transition("accept", "applied", "open", AGENTS, guard=_arbitration, when="arbitration"),
        transition("decline", "applied", "declined", AGENTS, guard=_arbitration, when="arbitration"),
        transition("assign", _LIVE, "under_review", AGENTS),
        *(transition("submit_evidence", s, s, PARTIES) for s in _LIVE),
        *(transition("request_evidence", s, s, AGENTS) for s in _LIVE),
        transition("rule", _LIVE, "ruled", "agent", guard=_intervention, when="intervention"),
        # An arbitrator's ruling is final 终局裁决.
        transition("rule", _LIVE, "final", "agent", guard=_arbitration, when="arbitration"),
        transition("appeal", "ruled", "appealed", PARTIES, guard=_intervention),
        transition("decide", "appealed", "final", "agent"),
        transition("finalize", "ruled", "final", "system"),
    ],
)
