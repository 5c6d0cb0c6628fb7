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


class Appeal(BaseModel):
    """申诉: a losing party's appeal of a ruling, decided by an agent other than the ruler."""

    id: str
    dispute_id: str
    after_sale_id: str
    buyer_id: str
    merchant_id: str
    appellant_role: str
    appellant_id: str
    grounds: str
    evidence: list[str]
    status: Literal["pending", "upheld", "overturned"]
    decision: Literal[disputes.DECISIONS] | None  # type: ignore[valid-type]
    rationale: str | None
    decided_by: str | None
    decided_at: Timestamp | None
    created_at: Timestamp
    actions: list[str]


class Appeals(BaseModel):
    items: list[Appeal]


class DisputeNote(BaseModel):
    """An agent's internal note on a dispute (never shown to the parties)."""

    id: str
    dispute_id: str
    agent_id: str
    body: str
    created_at: Timestamp


class DisputeNotes(BaseModel):
    items: list[DisputeNote]


class Refund(BaseModel):
    id: str
    order_id: str
    after_sale_id: str | None
    buyer_id: str
    merchant_id: str
    amount: int
    currency: str
    payer: str
    method: str
    status: Literal["pending", "succeeded", "failed"]
    evidence: list[Any]
    created_at: Timestamp
    completed_at: Timestamp | None
    provider: str | None
    provider_ref: str | None
    attempts: int
    next_attempt_at: Timestamp | None
    confirm_by: Timestamp | None
    late: bool
    last_error: str | None


class Refunds(BaseModel):
    items: list[Refund]


class Settlement(BaseModel):
    """Money between platform and merchant (or a creator): who finally bears a refund."""

    id: str
    merchant_id: str
    order_id: str
    after_sale_id: str | None
    dispute_id: str | None
    direction: str
    bearer: str
    creator_id: str | None
    amount: int
    currency: str
    cause: str
    created_at: Timestamp


class Settlements(BaseModel):
    items: list[Settlement]


class Violation(BaseModel):
    id: str
    merchant_id: str
    kind: str
    points: int
    status: str
    cause: str
    order_id: str | None = None
    after_sale_id: str | None = None
    dispute_id: str | None = None
    amount: int | None = None  # penalties and recoveries carry money; warnings and points do not
    currency: str | None = None
    revoked_at: Timestamp | None = None
    revoked_reason: str | None = None
    created_at: Timestamp


class Violations(BaseModel):
    items: list[Violation]


class Threshold(BaseModel):
    points: int
    restriction: str


class Standing(BaseModel):
    merchant_id: str
    active_points: int
    policy: str
    restrictions: list[str]
    thresholds: list[Threshold]


class PriceDrop(BaseModel):
    id: str
    merchant_id: str
    sku: str
    price: int
    currency: str
    reported_by: str
    created_at: Timestamp


class PriceDrops(BaseModel):
    items: list[PriceDrop]


class Agent(BaseModel):
    id: str
    name: str
    capacity: int
    active: bool
    updated_at: Timestamp
    load: int  # live disputes assigned to it now


class Agents(BaseModel):
    items: list[Agent]


class WorkingDays(BaseModel):
    working_days: int


class Policy(BaseModel):
    key: str
    name: str
    version: int
    title: str
    timers: dict[str, int | WorkingDays]  # seconds, or working days
    timer_meanings: dict[str, str]
    limits: dict[str, int]
    limit_meanings: dict[str, str]
    shipping_refundable: bool
    violation_points: dict[str, int]
    sources: dict[str, str]


class Policies(BaseModel):
    items: list[Policy]
    default: str


class ReasonCode(BaseModel):
    code: Literal[tuple(cases.REASONS)]  # type: ignore[valid-type]
    label_zh: str


class RejectReasonCode(BaseModel):
    code: Literal[tuple(cases.REJECT_REASONS)]  # type: ignore[valid-type]
    label: str
    label_en: str
    evidence_required: bool


class Reasons(BaseModel):
    items: list[ReasonCode]
    reject_reasons: list[RejectReasonCode]


class ClockAdvanced(BaseModel):
    now: Timestamp
    fired: int  # deadlines fired
    refunds_submitted: int


class CallbackResult(BaseModel):
    refund_id: str
    status: str
    changed: bool  # false: a callback the refund had already taken in


class ProviderFault(BaseModel):
    provider: str
    fault: str
    delay_seconds: int


class Integrity(BaseModel):
    algorithm: Literal["sha256"]
    digest: str  # of the canonical JSON of everything else
    generated_at: Timestamp
    generated_for: Party
    generator: str


class CaseFile(BaseModel):
    """The whole case as verifiable JSON (docs/api.md "Case file"); its parts are the stored
    records as they are, so their members are not listed here."""

    format: Literal["aftersales.case-file/1"]
    order: dict[str, Any]
    case: dict[str, Any]
    parties: dict[str, Any]
    timeline: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    appeals: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    violations: list[dict[str, Any]]
    integrity: Integrity


def ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` with `status`."""
    return {status: {"model": model}}
