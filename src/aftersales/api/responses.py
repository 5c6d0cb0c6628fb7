"""Response shapes, for the OpenAPI description only: views.py builds the JSON; these models
declare it (statuses from the domain's own tables), and the contract tests hold the two together.
More fields may appear (docs/api.md: extend freely); the ones named here are always there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..domain import cases, complaints, disputes, orders

Timestamp = datetime  # RFC 3339 with offset


class Deadline(BaseModel):
    action: str
    due_at: Timestamp


class Party(BaseModel):
    role: str
    id: str


class OrderItem(BaseModel):
    sku: str
    title: str
    quantity: int
    unit_price: int


class Order(BaseModel):
    id: str
    buyer_id: str
    merchant_id: str
    payment_method: Literal["online", "cod"]
    status: Literal[orders.STATUSES]  # type: ignore[valid-type]
    currency: str
    items: list[OrderItem]
    goods_total: int
    shipping_fee: int
    total: int
    paid_amount: int
    refunded_amount: int
    open_after_sale_id: str | None
    policy: str
    carrier: str | None
    tracking_number: str | None
    cancel_reason: str | None
    deadline: Deadline | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    paid_at: Timestamp | None
    shipped_at: Timestamp | None
    delivered_at: Timestamp | None
    completed_at: Timestamp | None
    cancelled_at: Timestamp | None
    actions: list[str]


class Tracking(BaseModel):
    carrier: str
    tracking_number: str


class Offer(BaseModel):
    """协商: the partial refund the buyer is answering; the buyer keeps the goods."""

    amount: int
    note: str | None
    offered_at: Timestamp
    expires_at: Timestamp | None


class Extension(BaseModel):
    """延长时效: the merchant's one extension of its pending deadline."""

    hours: int
    reason: str
    from_: Timestamp = Field(alias="from")
    to: Timestamp


class Case(BaseModel):
    id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    type: Literal[cases.TYPES]  # type: ignore[valid-type]
    reason: str
    status: Literal[cases.STATUSES]  # type: ignore[valid-type]
    amount: int
    currency: str
    version: int
    policy: str
    deadline: Deadline | None
    description: str
    evidence: list[str]
    payment_method: Literal["online", "cod"]
    return_address: str | None
    return_shipment: Tracking | None
    exchange_shipment: Tracking | None
    reject_reason: str | None
    reject_note: str | None
    offer: Offer | None
    extension: Extension | None
    dispute_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    actions: list[str]


class RulingResult(BaseModel):
    outcome: Literal["refund", "partial_refund", "deny"]
    amount: int | None
    liable_party: str | None
    rationale: str | None
    ruled_by: str | None
    ruled_at: Timestamp | None


class Dispute(BaseModel):
    id: str
    kind: Literal[disputes.KINDS]  # type: ignore[valid-type]
    after_sale_id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    status: Literal[disputes.STATUSES]  # type: ignore[valid-type]
    opened_by: str
    reason: str | None
    policy: str
    statements: list[dict[str, Any]]
    assignee: str | None
    deadline: Deadline | None
    ruling_due_at: Timestamp | None
    sla_breached: bool
    evidence_due: dict[str, Any]
    ruling: RulingResult | None
    negotiation: list[Any]
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class Complaint(BaseModel):
    id: str
    complainant: Party
    buyer_id: str | None
    merchant_id: str
    order_id: str | None
    dispute_id: str | None
    category: Literal[tuple(dict.fromkeys(complaints.BUYER_CATEGORIES + complaints.MERCHANT_CATEGORIES))]  # type: ignore[valid-type]
    description: str
    evidence: list[str]
    status: Literal[complaints.OPEN + tuple(sorted(complaints.TERMINAL))]  # type: ignore[valid-type]
    policy: str
    reply: str | None
    solution: str | None
    decision: str | None
    rationale: str | None
    decided_by: str | None
    review_breached: bool
    deadline: Deadline | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    actions: list[str]


class Event(BaseModel):
    id: int
    action: str
    actor: Party
    at: Timestamp
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    data: dict[str, Any] | None
    deadline_id: int | None


class Events(BaseModel):
    items: list[Event]


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None


class CasePage(BaseModel):
    items: list[Case]
    next_cursor: str | None


class DisputePage(BaseModel):
    items: list[Dispute]
    next_cursor: str | None


class ComplaintPage(BaseModel):
    items: list[Complaint]
    next_cursor: str | None


class Evidence(BaseModel):
    id: str
    sha256: str
    media_type: str
    size: int
    kind: str
    filename: str | None
    created_at: Timestamp


def ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` with `status`."""
    return {status: {"model": model}}
