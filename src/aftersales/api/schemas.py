"""Request bodies: shapes and bounds; the service layer checks the rules about values."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..domain.money import MAX_AMOUNT

Id = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Long = Annotated[str, StringConstraints(max_length=2000)]
EvidenceIds = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=40)]], Field(max_length=20)]
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(Body):
    sku: Line
    title: Line
    quantity: Annotated[int, Field(strict=True, ge=1, le=100_000)]
    unit_price: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]


class OrderIn(Body):
    id: Id
    buyer_id: Id
    merchant_id: Id
    payment_method: Literal["online", "cod"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    shipping_fee: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)] = 0
    items: Annotated[list[Item], Field(min_length=1, max_length=200)]
    policy: Annotated[str, StringConstraints(max_length=64)] | None = None


class Empty(Body):
    pass


class Shipment(Body):
    carrier: Line
    tracking_number: Line


class Cancel(Body):
    reason: Long | None = None


class CaseIn(Body):
    order_id: Id
    type: Literal["refund_only", "return_refund", "exchange"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    amount: Amount | None = None
    description: Long = ""
    evidence: EvidenceIds = []


class Approve(Body):
    return_address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None


class Reject(Body):
    reason: Line
    note: Long | None = None
    evidence: EvidenceIds = []


class ConfirmReceipt(Body):
    carrier: Line | None = None
    tracking_number: Line | None = None


class Voucher(Body):
    evidence: Annotated[EvidenceIds, Field(min_length=1)]


class Withdraw(Body):
    reason: Long | None = None


class Statement(Body):
    statement: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    evidence: EvidenceIds = []


class DisputeReturn(Statement):
    reason: Literal["wrong_item", "used", "damaged", "missing_parts", "empty_package", "other"]


class ClockAdvance(Body):
    advance_seconds: Annotated[int, Field(strict=True, ge=0, le=10 * 365 * 86400)]


class EvidenceStatement(Body):
    statement: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    evidence: EvidenceIds = []


class RequestEvidence(Body):
    party: Literal["buyer", "merchant"]
    note: Long | None = None


class Assign(Body):
    agent_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class Ruling(Body):
    outcome: Literal["refund", "partial_refund", "deny"]
    amount: Amount | None = None
    liable_party: Literal["merchant", "buyer", "logistics", "platform", "none"]
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class AppealIn(Body):
    grounds: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    evidence: EvidenceIds = []


class AppealDecision(Body):
    decision: Literal["uphold", "overturn"]
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class Note(Body):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ArbitrationIn(Body):
    after_sale_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    statement: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    evidence: EvidenceIds = []


class AgentIn(Body):
    name: Line
    capacity: Annotated[int, Field(strict=True, ge=0, le=10_000)]
    active: bool = True


class ViolationIn(Body):
    kind: Literal["warning", "penalty"]
    points: Annotated[int, Field(strict=True, ge=0, le=100)] = 0
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    cause: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    after_sale_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


class ComplaintIn(Body):
    category: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    merchant_id: Id | None = None
    buyer_id: Id | None = None
    order_id: Id | None = None
    dispute_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    evidence: EvidenceIds = []


class ComplaintReply(Body):
    reply: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ComplaintSolution(Body):
    solution: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ComplaintDecision(Body):
    decision: Literal["upheld", "dismissed"]
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    penalty_points: Annotated[int, Field(strict=True, ge=1, le=100)] | None = None
