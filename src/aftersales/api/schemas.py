"""Request bodies: shapes and bounds; the service layer checks the rules about values."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from ..domain import cases, complaints, messages, parties, reviews, sanctions, webhooks
from ..domain.money import MAX_AMOUNT
from ..services import pages


def _integral(value: Any) -> Any:
    """An integral float (1030.0: what JavaScript's JSON.stringify sends for a whole number) is the
    integer it names, as JSON Schema's `integer` says; 1030.5 stays a float for the strict int to
    refuse (422), and so does a boolean. What is stored is always an int (docs/api.md "Numbers")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# `Annotated[int, Field(strict=True, ...), INTEGRAL]`: a JSON integer, as an int or an integral
# float, never a bool or a string of digits.
INTEGRAL = BeforeValidator(_integral)


# An opaque page cursor as the listings hand it out (`next_cursor`); services/pages.py says why
# every value matching the pattern is one. A sequence-keyed listing's is narrower.
_CURSOR_DOC = "Opaque: the `next_cursor` of the previous page, sent back unchanged"
Cursor = Annotated[
    str | None, Query(pattern=pages.CURSOR_PATTERN, max_length=pages.CURSOR_MAX_LENGTH, description=_CURSOR_DOC)
]
SequenceCursor = Annotated[
    str | None,
    Query(pattern=pages.SEQUENCE_CURSOR_PATTERN, max_length=pages.CURSOR_MAX_LENGTH, description=_CURSOR_DOC),
]
Limit = Annotated[int, Query(ge=1, le=pages.MAX_LIMIT)]

Id = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Long = Annotated[str, StringConstraints(max_length=2000)]
EvidenceIds = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=40)]], Field(max_length=20)]
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT), INTEGRAL]


class Body(BaseModel):
    """Every request body: no field it does not name, and no NUL character in any text (PostgreSQL
    cannot store one, so SQLite must not either: one request, one answer)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, values: Any) -> Any:
        if _has_nul(values):
            raise ValueError("text may not contain a NUL character")
        return values


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Item(Body):
    sku: Line
    title: Line
    quantity: Annotated[int, Field(strict=True, ge=1, le=100_000), INTEGRAL]
    unit_price: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT), INTEGRAL]


class OrderIn(Body):
    id: Id
    buyer_id: Id
    merchant_id: Id
    payment_method: Literal["online", "cod"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    shipping_fee: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT), INTEGRAL] = 0
    discount: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT), INTEGRAL] = 0  # 优惠, off the goods
    items: Annotated[list[Item], Field(min_length=1, max_length=200)]
    policy: Annotated[str, StringConstraints(max_length=64)] | None = None
    creator_id: Id | None = None  # the live-stream host 达人 it was sold through


class ClaimIn(Body):
    sku: Line
    quantity: Annotated[int, Field(strict=True, ge=1, le=100_000), INTEGRAL]


class CaseIn(Body):
    order_id: Id
    type: Literal[cases.TYPES]  # type: ignore[valid-type]
    reason: Literal[tuple(cases.REASONS)]  # type: ignore[valid-type]
    # Omitted: every unit of the order no other request holds.
    items: Annotated[list[ClaimIn], Field(min_length=1, max_length=200)] | None = None
    amount: Amount | None = None
    description: Long = ""
    evidence: EvidenceIds = []
    # price_protection 价保: a drop the marketplace reported, or a lower price shown with evidence
    price_drop_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    new_price: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT), INTEGRAL] | None = None


class PriceDropIn(Body):
    merchant_id: Id
    sku: Line
    price: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT), INTEGRAL]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"


class ClockAdvance(Body):
    advance_seconds: Annotated[int, Field(strict=True, ge=0, le=10 * 365 * 86400), INTEGRAL]


class PaymentsFault(Body):
    """The simulated payment provider's fault (integrations/payments.py) and, for `slow`, how long
    it takes to confirm (default 30 days)."""

    fault: Literal["none", "timeout", "error", "slow", "duplicate_callback"]
    delay_seconds: Annotated[int, Field(strict=True, ge=0, le=365 * 86400), INTEGRAL] | None = None


class Note(Body):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ArbitrationIn(Body):
    after_sale_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    statement: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    evidence: EvidenceIds = []


class AgentIn(Body):
    name: Line
    capacity: Annotated[int, Field(strict=True, ge=0, le=10_000), INTEGRAL]
    active: bool = True


def _text(bound: Any) -> Any:
    """A text field with a domain bound (domain/actions.py Text), stripped as the specs' are."""
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=bound.min_length, max_length=bound.max_length)
    ]


class ReturnAddressIn(Body):
    id: Id
    name: _text(parties.RECIPIENT)  # type: ignore[valid-type]
    phone: _text(parties.PHONE)  # type: ignore[valid-type]
    address: _text(parties.ADDRESS)  # type: ignore[valid-type]


class MerchantIn(Body):
    """A merchant's profile; `return_addresses` is its whole book, the first entry the default."""

    name: Line
    timezone: _text(parties.TIMEZONE) = parties.DEFAULT_TIMEZONE  # type: ignore[valid-type]
    return_addresses: Annotated[list[ReturnAddressIn], Field(max_length=parties.MAX_ADDRESSES)] = []


class BuyerIn(Body):
    display_name: Line


class ViolationIn(Body):
    kind: Literal[sanctions.KINDS]  # type: ignore[valid-type]
    points: Annotated[int, Field(strict=True, ge=0, le=100), INTEGRAL] = 0
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT), INTEGRAL] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    cause: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    after_sale_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


class ComplaintIn(Body):
    category: Literal[complaints.CATEGORIES]  # type: ignore[valid-type]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    merchant_id: Id | None = None
    buyer_id: Id | None = None
    order_id: Id | None = None
    dispute_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    review_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    evidence: EvidenceIds = []


MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=messages.BODY_MAX)]


class MessageIn(Body):
    """A message on a case; a merchant may post one of its reply templates (its text, when `body`
    is left out). One of the two is required (the document's `anyOf`); the service refuses a
    message with neither, `422` naming `body`."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["body"], "properties": {"body": {"type": "string"}}},
                {"required": ["template_id"], "properties": {"template_id": {"type": "string"}}},
            ]
        }
    )

    body: MessageText | None = None
    evidence: EvidenceIds = []
    template_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


class ReplyTemplateIn(Body):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=messages.TITLE_MAX)]
    body: MessageText


class ReviewIn(Body):
    order_id: Id
    rating: Annotated[int, Field(strict=True, ge=reviews.RATINGS[0], le=reviews.RATINGS[1]), INTEGRAL]
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=reviews.TEXT.max_length)] = ""
    evidence: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=40)]],
        Field(max_length=reviews.PHOTOS.max_items),
    ] = []


class WebhookEndpointIn(Body):
    """Where to post events and which: `*`, `<subject>.*` or `<subject>.<name>` (docs/api.md)."""

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=webhooks.URL_MAX)]
    events: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=webhooks.TYPE_MAX)]],
        Field(min_length=1, max_length=webhooks.EVENTS_MAX),
    ]
    description: Annotated[str, StringConstraints(max_length=webhooks.DESCRIPTION_MAX)] | None = None
