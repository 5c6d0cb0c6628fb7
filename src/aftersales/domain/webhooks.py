"""Webhook endpoints: where a shop (or the platform) hears its events, which events, and the
bounds on what it may ask for. Delivery itself is the relay's (worker/relay.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .errors import ValidationFailed

# The subjects a message may be about, by their public names (integrations/envelope.py).
SUBJECTS = ("order", "after_sale", "dispute", "appeal", "complaint", "refund", "review", "webhook_endpoint")
ENABLED, DISABLED, DELETED = "enabled", "disabled", "deleted"
STATUSES = (ENABLED, DISABLED, DELETED)
DELIVERY_STATUSES = ("pending", "succeeded", "dead")

URL_MAX = 2000  # webhook_endpoints.url
DESCRIPTION_MAX = 500  # webhook_endpoints.description
EVENTS_MAX = 50  # our choice: filters beyond a handful mean "*"
TYPE_MAX = 64  # webhook_deliveries.type: no filter longer than a type can be
ENDPOINTS_PER_OWNER = 20  # our choice: a shop (or the platform) fans out to at most 20 receivers
# After a rotation the old secret signs beside the new one this long, so receivers switch over
# without dropping a delivery (our choice; Standard Webhooks leaves the overlap to the sender).
SECRET_OVERLAP = timedelta(hours=24)
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 random bytes, base64 after the prefix

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    events: tuple[str, ...]
    description: str | None = None


def url(value: str) -> str:
    """The URL as it will be stored: stripped, 1 to URL_MAX characters (where it leads is checked
    by integrations/addresses.py)."""
    stripped = value.strip()
    if not 1 <= len(stripped) <= URL_MAX:
        raise ValidationFailed(f"url must be 1 to {URL_MAX} characters", fields=["url"])
    return stripped


def filters(values: Iterable[str]) -> list[str]:
    """An endpoint's event filters, in their order without repeats: `*`, `<subject>.*` or
    `<subject>.<name>` of a known subject; anything else is a 422 naming `events`."""
    found = list(dict.fromkeys(v.strip() for v in values))
    if not 1 <= len(found) <= EVENTS_MAX:
        raise ValidationFailed(f"events must name 1 to {EVENTS_MAX} filters", fields=["events"])
    for value in found:
        if value == "*":
            continue
        subject, dot, name = value.partition(".")
        if subject not in SUBJECTS:
            raise ValidationFailed(
                f"unknown event subject {subject!r} in {value!r}; known: {', '.join(SUBJECTS)}",
                code="unknown_event_type",
                fields=["events"],
            )
        if not dot or len(value) > TYPE_MAX or (name != "*" and _NAME.fullmatch(name) is None):
            raise ValidationFailed(
                f"{value!r} is not an event filter: '*', '<subject>.*' or '<subject>.<name>'",
                code="invalid_event_filter",
                fields=["events"],
            )
    return found


def description(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    stripped = value.strip()
    if len(stripped) > DESCRIPTION_MAX:
        raise ValidationFailed(f"description must be at most {DESCRIPTION_MAX} characters", fields=["description"])
    return stripped
