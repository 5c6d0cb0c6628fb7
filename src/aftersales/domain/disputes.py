"""Disputes: platform intervention 平台介入 and arbitration 仲裁, ruled by agents, open to appeal 申诉.

Intervention: opened by a refused buyer's escalation or a merchant's disputed return; both
parties get an evidence period; an agent rules within the platform's SLA; the loser may appeal
within the appeal window to a different agent. Arbitration: applied for by a party, first
accepted or declined by the platform, then ruled once and for all by an assigned arbitrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from .actions import (
    ActionSpec,
    Choice,
    Essay,
    Evidence,
    Label,
    OptionalAmount,
    OptionalParagraph,
    Paragraph,
    Text,
    label,
)
from .errors import Forbidden, ValidationFailed
from .machine import Caller, Machine, transition
from .roles import AGENT, BUYER, PARTIES, PLATFORM, SYSTEM

KINDS = ("intervention", "arbitration")
STATUSES = ("applied", "open", "under_review", "ruled", "appealed", "final", "declined")
OUTCOMES = ("refund", "partial_refund", "return_refund", "deny")
# `both` 双方责任: buyer and merchant share the fault (the buyer gets part, the merchant bears it);
# `creator`: the live-stream host 达人 the order was sold through bears the refund.
LIABLE_PARTIES = ("merchant", "buyer", "logistics", "platform", "none", "both", "creator")
# Who finally bears a ruling's refund, by liable party (everyone else's share is the platform's).
BEARERS = {"merchant": "merchant", "both": "merchant", "creator": "creator"}
# A denial names nobody at fault toward the buyer.
AT_FAULT = ("merchant", "both", "creator")
DECISIONS = ("uphold", "overturn")
# An appeal is pending until decided: upheld (the ruling stands) or overturned.
APPEAL_STATUSES = ("pending", "upheld", "overturned")
# The queue's urgency filter: past its ruling deadline, or due within a day.
SLA_FILTERS = ("breached", "due_24h")
TERMINAL = frozenset({"final", "declined"})
# Before a ruling: the parties' evidence periods and the platform's ruling SLA run.
AWAITING_RULING = ("open", "under_review")
# Not yet ruled: what a buyer's withdrawal of the request ends.
ACTIVE = ("applied", *AWAITING_RULING)
# On an agent's desk: what the agent's load counts.
IN_HAND = (*AWAITING_RULING, "appealed")
# Not settled yet: a ruling may still come, or still change on appeal. While a dispute about any
# case of an order is unsettled, that order takes no new request (its money is not yet known).
UNSETTLED = (*ACTIVE, "ruled", "appealed")
# status -> (system action, policy timer)
DEADLINES = {"ruled": ("finalize", "appeal_window")}


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
    """Who may appeal a ruling: the buyer a denial, the merchant a refund, both a partial one or a
    return_refund (the buyer must ship the goods back for its money)."""
    both = ("buyer", "merchant")
    return {"deny": ("buyer",), "refund": ("merchant",), "partial_refund": both, "return_refund": both}[outcome]


def bearer(liable_party: str) -> str:
    """Who finally bears the refund a ruling naming `liable_party` pays: merchant, platform or creator."""
    return BEARERS.get(liable_party, "platform")


def _intervention(d: Dispute) -> bool:
    return d.kind == "intervention"


def _arbitration(d: Dispute) -> bool:
    return d.kind == "arbitration"


def _loser(d: Dispute, caller: Caller) -> Forbidden | None:
    if d.outcome and caller.role not in losers(d.outcome):
        return Forbidden(f"only the losing party may appeal a {d.outcome} ruling", code="not_appellant")
    return None


def _another_agent(d: Dispute, caller: Caller) -> Forbidden | None:
    if caller.id == d.ruled_by:
        return Forbidden("an appeal is decided by an agent other than the one who ruled", code="same_agent")
    return None


@dataclass(frozen=True)
class NewArbitration:
    """A party applies for arbitration 仲裁 of a closed request."""

    after_sale_id: str
    statement: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentProfile:
    """An agent on the roster: how many live disputes it may hold, and whether it takes new ones."""

    name: str
    capacity: int
    active: bool = True


@dataclass(frozen=True)
class Assign:
    agent_id: Annotated[str | None, Text(max_length=64)] = field(default=None, metadata=label("客服", "Agent"))


@dataclass(frozen=True)
class SubmitEvidence:
    statement: Paragraph = field(metadata=label("陈述", "Statement"))
    evidence: Evidence = field(default=(), metadata=label("凭证", "Evidence"))


@dataclass(frozen=True)
class RequestEvidence:
    party: Annotated[str, Choice(tuple(sorted(PARTIES)))] = field(metadata=label("补充举证方", "Party"))
    note: OptionalParagraph = field(default=None, metadata=label("说明", "Note"))


@dataclass(frozen=True)
class Rule:
    outcome: Annotated[str, Choice(OUTCOMES)] = field(metadata=label("裁决结果", "Outcome"))
    liable_party: Annotated[str, Choice(LIABLE_PARTIES)] = field(metadata=label("责任方", "Liable party"))
    rationale: Essay = field(metadata=label("判责理由", "Rationale"))
    amount: OptionalAmount = field(default=None, metadata=label("退款金额", "Amount"))
    # return_refund: where the buyer ships the goods (required unless the case has an address).
    return_address: Annotated[str | None, Text(max_length=500)] = field(
        default=None, metadata=label("退货地址", "Return address")
    )


@dataclass(frozen=True)
class Appeal:
    grounds: Essay = field(metadata=label("申诉理由", "Grounds"))
    evidence: Evidence = field(default=(), metadata=label("凭证", "Evidence"))


@dataclass(frozen=True)
class DecideAppeal:
    decision: Annotated[str, Choice(DECISIONS)] = field(metadata=label("申诉结果", "Decision"))
    rationale: Essay = field(metadata=label("理由", "Rationale"))


SPECS = [
    ActionSpec("accept", Label("受理仲裁", "Accept"), summary="Accept an arbitration application"),
    ActionSpec("decline", Label("不予受理", "Decline"), summary="Decline an arbitration application"),
    ActionSpec(
        "assign",
        Label("分配客服", "Assign"),
        Assign,
        summary="Assign to an agent, or automatically to the least-loaded one (no agent_id)",
    ),
    ActionSpec(
        "submit_evidence",
        Label("提交证据", "Add evidence"),
        SubmitEvidence,
        path="evidence",
        summary="A party adds a statement and evidence within its evidence period",
    ),
    ActionSpec(
        "request_evidence",
        Label("要求补充举证", "Ask for more evidence"),
        RequestEvidence,
        summary="An agent asks a party for more evidence (re-opens its period)",
    ),
    ActionSpec(
        "rule",
        Label("判责", "Rule"),
        Rule,
        writes={"outcome": "outcome", "liable_party": "liable_party", "rationale": "rationale"},
        actor_field="ruled_by",
        summary="Rule 判责: outcome, amount, liable party, rationale; executes itself",
    ),
    # Filed and decided on the appeal's own resource: POST /disputes/{id}/appeals, /appeals/{id}/decide.
    ActionSpec("appeal", Label("申诉", "Appeal"), Appeal, routed=False),
    ActionSpec("decide", Label("处理申诉", "Decide the appeal"), DecideAppeal, routed=False),
    ActionSpec("finalize", Label("申诉期满, 裁决生效", "Final: the appeal window closed")),
    # The buyer withdrew the request while the platform had it: nothing is left to rule on.
    ActionSpec("close", Label("买家撤销申请, 介入结束", "Closed: the request was withdrawn"), internal=True),
]

DISPUTE_MACHINE = Machine(
    "dispute",
    [
        transition("accept", "applied", "open", PLATFORM, guard=_arbitration, when="arbitration"),
        transition("decline", "applied", "declined", PLATFORM, guard=_arbitration, when="arbitration"),
        transition("assign", AWAITING_RULING, "under_review", PLATFORM),
        *(transition("submit_evidence", s, s, PARTIES) for s in AWAITING_RULING),
        *(transition("request_evidence", s, s, PLATFORM) for s in AWAITING_RULING),
        transition("rule", AWAITING_RULING, "ruled", AGENT, guard=_intervention, when="intervention"),
        # An arbitrator's ruling is final 终局裁决.
        transition("rule", AWAITING_RULING, "final", AGENT, guard=_arbitration, when="arbitration"),
        transition("appeal", "ruled", "appealed", PARTIES, guard=_intervention, who=_loser),
        transition("decide", "appealed", "final", AGENT, who=_another_agent),
        transition("finalize", "ruled", "final", SYSTEM),
        transition("close", ACTIVE, "final", BUYER),
    ],
    SPECS,
    statuses=STATUSES,
    terminal=TERMINAL,
)


def ruling_amount(outcome: str, amount: int | None, liable_party: str, requested: int) -> int:
    """What a ruling grants of the `requested` amount: all of it for a refund, a part for a partial
    refund, all or a part once the goods are back for a return_refund, nothing for a denial (which
    names nobody at fault toward the buyer). A shared fault (`both`) grants a part only: the buyer
    bears the rest by not getting it, the merchant bears what the buyer gets."""
    if outcome == "deny":
        if liable_party in AT_FAULT:
            raise ValidationFailed(f"a denial cannot name the {liable_party} liable", fields=["liable_party"])
        if amount:
            raise ValidationFailed("a denial refunds nothing: omit amount", fields=["amount"])
        return 0
    if liable_party == "both" and (amount is None or not 0 < amount < requested):
        raise ValidationFailed(
            f"a shared fault 双方责任 refunds a part: an amount between 1 and {requested - 1}",
            fields=["amount"],
        )
    if outcome == "refund":
        amount = requested if amount is None else amount
        if amount != requested:
            raise ValidationFailed(f"a full refund is the requested {requested}; use partial_refund", fields=["amount"])
        return amount
    if outcome == "return_refund":
        amount = requested if amount is None else amount
        if not 0 < amount <= requested:
            raise ValidationFailed(f"a return refund is between 1 and {requested}", fields=["amount"])
        return amount
    if amount is None or not 0 < amount < requested:
        raise ValidationFailed(f"a partial refund is between 1 and {requested - 1}", fields=["amount"])
    return amount
