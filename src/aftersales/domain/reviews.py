"""Reviews 评价 of an order [docs/rules.md: Reviews]: once the order completes, within the policy's
review window, its buyer rates it once (1-5, a text, photos); the merchant replies once. What a
review or a reply may say is checked against rules kept as data (policies/review_rules.toml).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from .actions import ActionSpec, EvidenceIds, Label, Number, Text, label
from .errors import DeadlinePassed, IllegalTransition, ValidationFailed
from .machine import Machine, transition
from .roles import MERCHANT

STATUSES = ("posted", "replied")
RATINGS = (1, 5)
TEXT = Text(min_length=0, max_length=500)  # our choice: 500 characters, as the large platforms allow
REPLY = Text(max_length=500)
PHOTOS = EvidenceIds(max_items=9)  # our choice: nine photos, the usual grid of a review


@dataclass
class Review:
    id: str
    order_id: str
    buyer_id: str
    merchant_id: str
    rating: int
    text: str
    status: str
    policy: str
    created_at: datetime
    updated_at: datetime
    evidence: list[str] = field(default_factory=list)
    reply: str | None = None
    replied_by: str | None = None
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class NewReview:
    """What the buyer posts about one of their completed orders."""

    order_id: str
    rating: Annotated[int, Number(*RATINGS)] = field(metadata=label("评分", "Rating"))
    text: Annotated[str, TEXT] = field(default="", metadata=label("评价内容", "Text"))
    evidence: Annotated[tuple[str, ...], PHOTOS] = field(default=(), metadata=label("晒图", "Photos"))

    def __post_init__(self) -> None:
        # The API's request model holds these bounds too; every other door (CLI, demo) meets them here.
        if (
            isinstance(self.rating, bool)
            or not isinstance(self.rating, int)
            or not RATINGS[0] <= self.rating <= RATINGS[1]
        ):
            raise ValidationFailed(f"rating must be an integer from {RATINGS[0]} to {RATINGS[1]}", fields=["rating"])
        if len(self.text) > TEXT.max_length:
            raise ValidationFailed(f"text is longer than {TEXT.max_length} characters", fields=["text"])
        if len(self.evidence) > PHOTOS.max_items:
            raise ValidationFailed(f"a review shows at most {PHOTOS.max_items} photos", fields=["evidence"])


@dataclass(frozen=True)
class Reply:
    reply: Annotated[str, REPLY] = field(metadata=label("商家回复", "Reply"))


SPECS = [
    ActionSpec(
        "reply",
        Label("回复评价", "Reply"),
        Reply,
        writes={"reply": "reply"},
        actor_field="replied_by",
        summary="The merchant replies to the review, once",
    ),
]

REVIEW_MACHINE = Machine(
    "review",
    [transition("reply", "posted", "replied", MERCHANT)],
    SPECS,
    statuses=STATUSES,
    terminal=("replied",),
)


def check_reviewable(order: Any, now: datetime, window: timedelta) -> None:
    """A review comes after the order completed 交易完成, and no later than the window after it."""
    if order.status != "completed" or order.completed_at is None:
        raise IllegalTransition(
            f"an order is reviewed once it is completed (this one is {order.status!r})",
            code="order_not_completed",
            status=order.status,
        )
    ends = order.completed_at + window
    if now > ends:
        raise DeadlinePassed(
            f"the review period 评价期 of this order ended at {ends.isoformat()}",
            code="review_period_over",
            due_at=ends.isoformat(),
        )


# --- content rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentRule:
    """One thing a review may not contain: a code, its labels and the patterns that find it."""

    code: str
    label: Label
    patterns: tuple[re.Pattern[str], ...]
    # Match against the text with white space and dashes taken out too ("138 0013-8000").
    compact: bool = False

    def breached_by(self, text: str) -> bool:
        forms = [text, _SPACING.sub("", text)] if self.compact else [text]
        return any(p.search(form) for p in self.patterns for form in forms)


_SPACING = re.compile(r"[\s\-_.·•]+")


def normalise(text: str) -> str:
    """Full-width letters and digits as ASCII (１３８ -> 138), lower case: how a rule reads a text."""
    return unicodedata.normalize("NFKC", text).casefold()


def rules_from(data: Mapping[str, Any]) -> tuple[ContentRule, ...]:
    """The rules of a rules file (`[[rule]]` tables: code, zh, en, patterns, compact)."""
    out: list[ContentRule] = []
    for raw in data.get("rule", []):
        code = str(raw["code"])
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code) or code in {r.code for r in out}:
            raise ValueError(f"review rule code {code!r} is not a unique snake_case code")
        try:
            # Texts are read lower-cased; patterns keep their escapes (\D is not \d) and ignore case.
            patterns = tuple(re.compile(str(p), re.IGNORECASE) for p in raw["patterns"])
        except re.error as exc:
            raise ValueError(f"review rule {code!r}: a pattern does not compile: {exc}") from None
        if not patterns:
            raise ValueError(f"review rule {code!r} has no patterns")
        out.append(ContentRule(code, Label(str(raw["zh"]), str(raw["en"])), patterns, bool(raw.get("compact", False))))
    return tuple(out)


def breaches(text: str, rules: Iterable[ContentRule]) -> list[ContentRule]:
    """The rules `text` breaks, in the rules' order."""
    plain = normalise(text)
    return [rule for rule in rules if rule.breached_by(plain)]


def check_content(text: str, rules: Iterable[ContentRule], what: str = "review") -> None:
    """Refuse a text that breaks any rule, naming every rule it breaks."""
    broken = breaches(text, rules)
    if broken:
        names = ", ".join(f"{r.code} ({r.label.zh} / {r.label.en})" for r in broken)
        raise ValidationFailed(
            f"the {what} breaks the platform's review rules: {names}",
            code=f"{what}_rejected",
            rules=[r.code for r in broken],
        )
