"""Sanctions an agent records on a merchant 警示 / 处罚: what each kind carries."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ValidationFailed

KINDS = ("warning", "penalty")
# What a merchant's record holds: an agent's warning or penalty, a ruling's or a complaint's points,
# and the advance compensation the platform recovers from the merchant (services/effects.py).
VIOLATION_KINDS = (*KINDS, "points", "advance_compensation")
STATUSES = ("active", "revoked")  # a won appeal revokes a ruling's violations (kept on record)


@dataclass(frozen=True)
class NewViolation:
    """A warning or a penalty an agent records, with its cause."""

    kind: str
    cause: str
    points: int = 0
    amount: int | None = None
    currency: str | None = None
    after_sale_id: str | None = None


def check_violation(kind: str, points: int, amount: int | None, currency: str | None) -> None:
    """A warning is a word on the record, nothing more; a penalty names the money it costs."""
    if kind == "penalty" and not (amount and currency):
        raise ValidationFailed("a penalty needs amount and currency", fields=["amount", "currency"])
    if kind == "warning" and (amount or points):
        raise ValidationFailed("a warning carries neither points nor money", fields=["points", "amount"])
