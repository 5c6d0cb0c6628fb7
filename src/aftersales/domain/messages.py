"""Messages on a case 协商记录 and merchants' quick replies 话术: who posts them, their bounds, and
when a case takes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import cases, disputes
from .actions import PARAGRAPH
from .errors import ValidationFailed
from .roles import AGENT, BUYER, MERCHANT

# The buyer and the merchant negotiate; the platform's customer service may step in. Admins stand
# apart from the cases (docs/api.md) and the marketplace's order feed is no party: both may read.
POSTERS = frozenset({BUYER, MERCHANT, AGENT})
# A dispute still being handled (applied for, under the agents' review, or appealed): its case
# takes messages even once closed, so the agent rules with the whole negotiation in view.
LIVE_DISPUTES = frozenset({*disputes.ACTIVE, *disputes.IN_HAND})

BODY_MAX = PARAGRAPH.max_length  # 2000 characters, as a reject note or a statement
TITLE_MAX = 100  # our choice: one line of a quick-reply picker
MESSAGES_PER_CASE = 500  # our choice: a case file and a dispute's read stay readable
TEMPLATES_PER_MERCHANT = 50  # our choice: a shop's quick replies fit one picker


@dataclass(frozen=True)
class NewMessage:
    """A message: its text (or a merchant's template's), and evidence it cites."""

    body: str | None = None
    evidence: tuple[str, ...] = ()
    template_id: str | None = None


@dataclass(frozen=True)
class NewTemplate:
    title: str
    body: str


def takes_messages(case_status: str, dispute_statuses: Iterable[str]) -> bool:
    """Open cases take messages; a closed one only while a dispute about it is live."""
    return case_status not in cases.TERMINAL or bool(LIVE_DISPUTES & set(dispute_statuses))


def text(value: str | None, name: str, most: int) -> str:
    """A text stripped of surrounding space, 1 to `most` characters, or a 422 naming it."""
    stripped = (value or "").strip()
    if not 1 <= len(stripped) <= most:
        raise ValidationFailed(f"{name} must be 1 to {most} characters", fields=[name])
    return stripped
