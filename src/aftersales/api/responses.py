"""Response shapes, for the OpenAPI description only: views.py builds the JSON; these models
declare it (statuses from the domain's own tables), and the contract tests hold the two together.
More fields may appear (docs/api.md: extend freely); the ones named here are always there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..domain import cases, complaints, disputes, orders, reviews, webhooks
from ..domain.media import EVIDENCE_KINDS, MEDIA_TYPES

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
    buyer_name: str | None  # null: no profile (PUT /v1/buyers/{id})
    merchant_name: str | None
    payment_method: Literal["online", "cod"]
    status: Literal[orders.STATUSES]  # type: ignore[valid-type]
    currency: str
    items: list[OrderItem]
    goods_total: int
    shipping_fee: int
    discount: int
    total: int
    paid_amount: int
    refunded_amount: int
    open_after_sale_id: str | None  # the first of open_after_sale_ids
    open_after_sale_ids: list[str]
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


class EligibleItem(OrderItem):
    paid: int  # what was paid for the line's units (after the discount)
    refunded: int
    quantity_remaining: int  # units no open request holds and none settled
    refundable: int  # what those units may still get back
    types: list[Literal[cases.TYPES]]  # type: ignore[valid-type]  # what a request on them may be now


class Eligibility(BaseModel):
    order_id: str
    currency: str
    window_ends_at: Timestamp | None  # the after-sales period 售后期 ends (set once the order completes)
    refundable: int  # on the whole order
    open_after_sale_ids: list[str]
    items: list[EligibleItem]


class PriceProtection(BaseModel):
    price_drop_id: str | None = None  # the drop the marketplace reported, if cited
    new_price: int


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
    buyer_name: str | None
    merchant_name: str | None
    type: Literal[cases.TYPES]  # type: ignore[valid-type]
    reason: Literal[tuple(cases.REASONS)]  # type: ignore[valid-type]
    status: Literal[cases.STATUSES]  # type: ignore[valid-type]
    items: list[OrderItem]  # the order's units it is about
    amount: int
    price_protection: PriceProtection | None  # a price_protection request's grounds
    currency: str
    version: int
    policy: str
    deadline: Deadline | None
    description: str
    evidence: list[str]
    payment_method: Literal["online", "cod"]
    return_address: str | None
    return_address_id: str | None
    return_shipment: Tracking | None
    exchange_shipment: Tracking | None
    reject_reason: Literal[tuple(cases.REJECT_REASONS)] | None  # type: ignore[valid-type]
    reject_note: str | None
    offer: Offer | None
    extension: Extension | None
    dispute_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    actions: list[str]


class RulingResult(BaseModel):
    outcome: Literal[disputes.OUTCOMES]  # type: ignore[valid-type]
    amount: int | None
    liable_party: Literal[disputes.LIABLE_PARTIES] | None  # type: ignore[valid-type]
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
    buyer_name: str | None
    merchant_name: str | None
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


class Message(BaseModel):
    id: str
    after_sale_id: str
    author_role: str
    author_id: str
    body: str
    evidence: list[str]
    template_id: str | None
    created_at: Timestamp


class MessagePage(BaseModel):
    items: list[Message]
    next_cursor: str | None


class DisputeRead(Dispute):
    """A dispute as read on its own URL: with its case's messages, the negotiation so far."""

    messages: list[Message]


class ReplyTemplate(BaseModel):
    id: str
    merchant_id: str
    title: str
    body: str
    created_by: str
    created_at: Timestamp


class ReplyTemplates(BaseModel):
    items: list[ReplyTemplate]


class Complaint(BaseModel):
    id: str
    complainant: Party
    buyer_id: str | None
    merchant_id: str
    buyer_name: str | None
    merchant_name: str | None
    order_id: str | None
    dispute_id: str | None
    review_id: str | None
    category: Literal[complaints.CATEGORIES]  # type: ignore[valid-type]
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


class Review(BaseModel):
    id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    buyer_name: str | None
    merchant_name: str | None
    rating: int
    text: str
    evidence: list[str]
    status: Literal[reviews.STATUSES]  # type: ignore[valid-type]
    policy: str
    reply: str | None
    replied_by: str | None
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


class ReturnAddress(BaseModel):
    id: str
    name: str
    phone: str
    address: str


class Merchant(BaseModel):
    id: str
    name: str
    timezone: str
    return_addresses: list[ReturnAddress]
    created_at: Timestamp
    updated_at: Timestamp


class Buyer(BaseModel):
    id: str
    display_name: str
    created_at: Timestamp
    updated_at: Timestamp


class ReviewPage(BaseModel):
    items: list[Review]
    next_cursor: str | None


class Evidence(BaseModel):
    id: str
    sha256: str
    media_type: Literal[MEDIA_TYPES]  # type: ignore[valid-type]
    size: int
    kind: Literal[EVIDENCE_KINDS]  # type: ignore[valid-type]
    filename: str | None
    created_at: Timestamp


class WebhookEndpoint(BaseModel):
    """An endpoint as read and listed: never its secret."""

    id: str
    merchant_id: str | None  # null: the platform's
    url: str
    events: list[str]
    description: str | None
    status: Literal[webhooks.ENABLED, webhooks.DISABLED]  # type: ignore[valid-type]
    disabled_reason: str | None
    failure_streak: int
    previous_secret_expires_at: Timestamp | None  # until then the previous secret signs too
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class WebhookEndpointWithSecret(WebhookEndpoint):
    """At creation and rotation only: the signing secret, shown this once."""

    secret: str


class WebhookEndpointPage(BaseModel):
    items: list[WebhookEndpoint]
    next_cursor: str | None


class WebhookAttempt(BaseModel):
    at: Timestamp
    status_code: int | None  # null: no answer (refused, timed out, blocked address)
    latency_ms: int
    error: str | None


class WebhookDelivery(BaseModel):
    id: int
    endpoint_id: str
    event_id: int
    message_id: str  # webhook-id: the same on every attempt
    type: str
    subject: str
    status: Literal[webhooks.DELIVERY_STATUSES]  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None
    attempt_log: list[WebhookAttempt]


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery]
    next_cursor: str | None


def ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` with `status`."""
    return {status: {"model": model}}
