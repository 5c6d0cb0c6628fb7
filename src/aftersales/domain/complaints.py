"""Complaints 投诉 about conduct, and merchants' complaints to the platform [docs/rules.md: Complaints].

A buyer's complaint: the merchant replies within a set time, proposes a solution, the platform
reviews it, the buyer confirms or rejects it (then an agent decides). A merchant's complaint
(about a buyer's abuse or a ruling) goes straight to the platform's review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from .actions import ActionSpec, Choice, Effect, Essay, Label, Number, OptionalParagraph, label
from .errors import Forbidden
from .machine import Caller, Machine, transition
from .roles import BUYER, MERCHANT, PARTIES, PLATFORM, SYSTEM

BUYER_CATEGORIES = ("induced_review", "false_advertising", "service_attitude", "not_as_described", "other")
MERCHANT_CATEGORIES = ("buyer_abuse", "ruling_objection", "other")
CATEGORIES = tuple(dict.fromkeys(BUYER_CATEGORIES + MERCHANT_CATEGORIES))
OPEN = ("awaiting_reply", "awaiting_solution", "under_review", "awaiting_buyer", "escalated")
TERMINAL = frozenset({"resolved", "decided", "withdrawn"})
STATUSES = (*OPEN, *sorted(TERMINAL))
# Where the platform's review is pending: its SLA (working days) runs.
UNDER_REVIEW = ("under_review", "escalated")
# status -> (system action, policy timer); review_overdue records a breach and changes nothing.
DEADLINES = {
    "awaiting_reply": ("auto_escalate", "complaint_reply"),
    "awaiting_solution": ("auto_escalate", "complaint_solution"),
    "under_review": ("review_overdue", "complaint_review"),
    "awaiting_buyer": ("auto_confirm", "complaint_buyer_confirm"),
    "escalated": ("review_overdue", "complaint_review"),
}
NOTICES = frozenset({"review_overdue"})
DECISIONS = ("upheld", "dismissed")


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
    review_id: str | None = None  # the review complained of (an induced review 诱导好评)
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


def _complainant(c: Complaint, caller: Caller) -> Forbidden | None:
    """The buyer who complained, or any staff of the shop that complained."""
    if c.complainant_role == MERCHANT and caller.role == MERCHANT and caller.merchant_id == c.merchant_id:
        return None
    if c.complainant_role == BUYER and caller.role == BUYER and caller.id == c.complainant_id:
        return None
    return Forbidden("only the complainant withdraws a complaint", code="not_complainant")


@dataclass(frozen=True)
class NewComplaint:
    """What a complainant files: its category and account, and what it is about."""

    category: str
    description: str
    merchant_id: str | None = None
    buyer_id: str | None = None
    order_id: str | None = None
    dispute_id: str | None = None
    review_id: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    reply: Essay = field(metadata=label("商家回复", "Reply"))


@dataclass(frozen=True)
class ProposeSolution:
    solution: Essay = field(metadata=label("解决方案", "Solution"))


@dataclass(frozen=True)
class Decide:
    decision: Annotated[str, Choice(DECISIONS)] = field(metadata=label("处理结果", "Decision"))
    rationale: Essay = field(metadata=label("理由", "Rationale"))
    penalty_points: Annotated[int | None, Number(1, 100)] = field(
        default=None, metadata=label("扣分", "Penalty points")
    )


@dataclass(frozen=True)
class Withdraw:
    reason: OptionalParagraph = field(default=None, metadata=label("撤销原因", "Reason"))


SPECS = [
    ActionSpec(
        "reply",
        Label("回复投诉", "Reply"),
        Reply,
        writes={"reply": "reply"},
        summary="The merchant replies (within complaint_reply)",
    ),
    ActionSpec(
        "propose_solution",
        Label("提出解决方案", "Propose a solution"),
        ProposeSolution,
        writes={"solution": "solution"},
        summary="The merchant proposes a solution (within complaint_solution)",
    ),
    ActionSpec(
        "approve_solution",
        Label("审核通过方案", "Approve the solution"),
        summary="The platform approves the merchant's solution; the buyer confirms next",
    ),
    ActionSpec(
        "reject_solution",
        Label("驳回方案", "Send the solution back"),
        summary="The platform sends the solution back to the merchant",
    ),
    ActionSpec("confirm", Label("确认解决", "Accept the solution"), summary="The buyer accepts the solution"),
    ActionSpec("auto_confirm", Label("超时自动确认", "Confirmed automatically")),
    ActionSpec(
        "reject", Label("不接受方案", "Reject the solution"), summary="The buyer rejects the solution: an agent decides"
    ),
    ActionSpec("auto_escalate", Label("商家超时, 升级平台处理", "Escalated: the merchant did not act")),
    ActionSpec(
        "decide",
        Label("平台裁定", "Decide"),
        Decide,
        writes={"decision": "decision", "rationale": "rationale"},
        actor_field="decided_by",
        summary="An agent decides (optionally with penalty points on the merchant)",
    ),
    ActionSpec("withdraw", Label("撤销投诉", "Withdraw"), Withdraw, summary="The complainant withdraws"),
]

COMPLAINT_MACHINE = Machine(
    "complaint",
    [
        transition("reply", "awaiting_reply", "awaiting_solution", MERCHANT, guard=_by_buyer),
        transition("propose_solution", "awaiting_solution", "under_review", MERCHANT, guard=_by_buyer),
        transition("approve_solution", "under_review", "awaiting_buyer", PLATFORM, guard=_by_buyer, when="buyer's"),
        transition("reject_solution", "under_review", "awaiting_solution", PLATFORM, guard=_by_buyer, when="buyer's"),
        transition("confirm", "awaiting_buyer", "resolved", BUYER),
        transition("auto_confirm", "awaiting_buyer", "resolved", SYSTEM),
        transition("reject", "awaiting_buyer", "escalated", BUYER),
        # A merchant who lets its timer lapse leaves the decision to the platform.
        transition(
            "auto_escalate",
            ("awaiting_reply", "awaiting_solution"),
            "escalated",
            SYSTEM,
            effect=Effect.MERCHANT_UNRESPONSIVE,
        ),
        transition("decide", "escalated", "decided", PLATFORM, effect=Effect.PENALTY_POINTS),
        transition(
            "decide",
            "under_review",
            "decided",
            PLATFORM,
            guard=_by_merchant,
            when="merchant's",
            effect=Effect.PENALTY_POINTS,
        ),
        transition("withdraw", OPEN, "withdrawn", PARTIES, who=_complainant),
    ],
    SPECS,
    statuses=STATUSES,
    terminal=TERMINAL,
)
