"""Complaints 投诉 about conduct, and merchants' complaints to the platform [docs/rules.md: Complaints].

A buyer's complaint: the merchant replies within a set time, proposes a solution, the platform
reviews it, the buyer confirms or rejects it (then an agent decides). A merchant's complaint
(about a buyer's abuse or a ruling) goes straight to the platform's review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .machine import Machine, transition

BUYER_CATEGORIES = ("induced_review", "false_advertising", "service_attitude", "not_as_described", "other")
MERCHANT_CATEGORIES = ("buyer_abuse", "ruling_objection", "other")
OPEN = ("awaiting_reply", "awaiting_solution", "under_review", "awaiting_buyer", "escalated")
TERMINAL = frozenset({"resolved", "decided", "withdrawn"})
# status -> (system action, policy timer); review_overdue records a breach and changes nothing.
DEADLINES = {
    "awaiting_reply": ("auto_escalate", "complaint_reply"),
    "awaiting_solution": ("auto_escalate", "complaint_solution"),
    "under_review": ("review_overdue", "complaint_review"),
    "awaiting_buyer": ("auto_confirm", "complaint_buyer_confirm"),
    "escalated": ("review_overdue", "complaint_review"),
}
NOTICES = frozenset({"review_overdue"})
STAFF = ("agent", "admin")


@dataclass
class Complaint:
    id: str
    complainant_role: str
    complainant_id: str
    buyer_id: str | None
    merchant_id: str
    category: str
    description: str
    status: str
    policy: str
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    dispute_id: str | None = None
    evidence: list[str] = field(default_factory=list)
    reply: str | None = None
    solution: str | None = None
    decision: str | None = None
    rationale: str | None = None
    decided_by: str | None = None
    review_breached: bool = False
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def _by_buyer(c: Complaint) -> bool:
    return c.complainant_role == "buyer"


def _by_merchant(c: Complaint) -> bool:
    return c.complainant_role == "merchant"


COMPLAINT_MACHINE = Machine(
    "complaint",
    [
        transition("reply", "awaiting_reply", "awaiting_solution", "merchant", guard=_by_buyer),
        transition("propose_solution", "awaiting_solution", "under_review", "merchant", guard=_by_buyer),
        transition("approve_solution", "under_review", "awaiting_buyer", STAFF, guard=_by_buyer, when="buyer's"),
        transition("reject_solution", "under_review", "awaiting_solution", STAFF, guard=_by_buyer, when="buyer's"),
        transition("confirm", "awaiting_buyer", "resolved", "buyer"),
        transition("auto_confirm", "awaiting_buyer", "resolved", "system"),
        transition("reject", "awaiting_buyer", "escalated", "buyer"),
        # A merchant who lets its timer lapse leaves the decision to the platform.
        transition(
            "auto_escalate",
            ("awaiting_reply", "awaiting_solution"),
            "escalated",
            "system",
            effect="merchant_unresponsive",
        ),
        transition("decide", "escalated", "decided", STAFF),
        transition("decide", "under_review", "decided", STAFF, guard=_by_merchant, when="merchant's"),
        transition("withdraw", OPEN, "withdrawn", ("buyer", "merchant")),
    ],
)
