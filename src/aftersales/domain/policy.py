"""Policy as data: every timer, window and money rule of a platform, versioned.

A case records `policy.key` (e.g. ``douyin@1``) when it opens and keeps it for life.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .calendar import WorkingCalendar

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_WORKING_DAYS = re.compile(r"^\s*(\d+)\s*wd\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

# Timer name -> what it measures; each policy file must give every one.
TIMERS = {
    "unpaid_order_cancel": "online order unpaid since placed -> auto cancel",
    "order_auto_complete": "order delivered -> auto complete",
    "after_sales_window": "order completed -> last moment a request may be filed",
    "merchant_response": "request filed -> auto approve",
    "buyer_ship_return": "request approved -> auto close if no return shipped",
    "merchant_confirm_receipt": "return tracking uploaded -> auto confirm receipt",
    "cod_refund_voucher": "receipt confirmed (cod) -> advance compensation",
    "escalation_window": "merchant refusal -> auto close if not escalated",
    "exchange_receipt": "replacement shipped -> auto complete exchange",
    "reship_receipt": "missing items reshipped -> auto complete reship",
    "price_protection_window": "order paid -> last moment a lower price of the item is refunded (价保)",
    "platform_ruling_sla": "intervention opened -> platform ruling due",
    "evidence_period": "dispute opened (or more evidence asked) -> last moment a party adds evidence",
    "appeal_window": "platform ruling -> last moment the losing party appeals",
    "complaint_reply": "complaint filed -> merchant replies, else escalated",
    "complaint_solution": "merchant replied (or solution refused) -> merchant proposes a solution, else escalated",
    "complaint_review": "solution proposed or complaint escalated -> platform decides (working days)",
    "complaint_buyer_confirm": "solution approved -> buyer confirms or rejects, else confirmed",
    "review_window": "order completed -> last moment the buyer reviews it",
    "buyer_offer_response": "merchant's partial-refund offer -> lapses back to the merchant if unanswered",
    "merchant_extension_max": "the most a merchant's one extension may move its pending deadline",
}
# Whose deadline a timer is: the parties reminded before it lapses against them (the other
# timers wait on nobody's action, or on the platform's).
REMINDED_PARTIES = {
    "merchant_response": ("merchant",),
    "buyer_ship_return": ("buyer",),
    "merchant_confirm_receipt": ("merchant",),
    "cod_refund_voucher": ("merchant",),
    "escalation_window": ("buyer",),
    "exchange_receipt": ("buyer",),
    "reship_receipt": ("buyer",),
    "evidence_period": ("buyer", "merchant"),
    "appeal_window": ("buyer", "merchant"),
    "complaint_reply": ("merchant",),
    "complaint_solution": ("merchant",),
    "complaint_buyer_confirm": ("buyer",),
    "buyer_offer_response": ("buyer",),
}
# Limit name -> what it counts; each policy file must give every one.
LIMITS = {
    "offers_per_case": "partial-refund offers a merchant may make on one request",
    "speedy_refund_max_amount": "极速退款: the most a return may be refunded as it ships back, before it arrives (0: off)",
}


def parse_duration(text: str | int) -> timedelta:
    """'48h', '7d', '30m', '10s' or a number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        return timedelta(seconds=text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. '48h' or '7d')")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class WorkingDays:
    """A timer counted in working days (e.g. '3wd'), resolved through a working calendar."""

    days: int


def parse_timer(text: str | int) -> timedelta | WorkingDays:
    match = _WORKING_DAYS.match(str(text)) if isinstance(text, str) else None
    return WorkingDays(int(match.group(1))) if match else parse_duration(text)


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    title: str
    timers: Mapping[str, timedelta | WorkingDays]
    shipping_refundable: bool = False
    violation_points: Mapping[str, int] = field(default_factory=dict)
    # (points reached, restriction) in ascending order: 扣分 thresholds that escalate sanctions
    sanctions: tuple[tuple[int, str], ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, int] = field(default_factory=dict)
    # Hours before a party's deadline at which it is reminded (after_sale.deadline_approaching),
    # largest first: the marketplace turns these into an SMS or an app push.
    reminders: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def timer(self, name: str) -> timedelta:
        value = self.timers[name]
        if isinstance(value, WorkingDays):
            raise ValueError(f"timer {name} counts working days: use due_at with a calendar")
        return value

    def due_at(self, name: str, start: datetime, calendar: WorkingCalendar) -> datetime:
        """When a timer started at `start` lapses, in calendar or working days alike."""
        value = self.timers[name]
        if isinstance(value, WorkingDays):
            return calendar.add_working_days(start, value.days)
        return start + value

    def limit(self, name: str) -> int:
        return self.limits[name]

    def points_for(self, violation_kind: str) -> int:
        return self.violation_points.get(violation_kind, 0)

    def restrictions_at(self, points: int) -> list[str]:
        return [name for threshold, name in self.sanctions if points >= threshold]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        raw_timers = data.get("timers", {})
        missing = sorted(set(TIMERS) - set(raw_timers))
        if missing:
            raise ValueError(f"policy {data.get('name')!r} lacks timers: {', '.join(missing)}")
        unknown = sorted(set(raw_timers) - set(TIMERS))
        if unknown:
            raise ValueError(f"policy {data.get('name')!r} has unknown timers: {', '.join(unknown)}")
        raw_limits = data.get("limits", {})
        if set(raw_limits) != set(LIMITS):
            odd = sorted(set(LIMITS) ^ set(raw_limits))
            raise ValueError(f"policy {data.get('name')!r} lacks or has unknown limits: {', '.join(odd)}")
        money = data.get("money", {})
        hours = data.get("reminders", {}).get("hours_before", [])
        if not isinstance(hours, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hours
        ):
            raise ValueError(f"policy {data.get('name')!r}: reminders.hours_before must be a list of positive hours")
        return cls(
            name=str(data["name"]),
            version=int(data["version"]),
            title=str(data.get("title", data["name"])),
            timers={k: parse_timer(v) for k, v in raw_timers.items()},
            shipping_refundable=bool(money.get("shipping_refundable", False)),
            violation_points={k: int(v) for k, v in data.get("violation_points", {}).items()},
            sanctions=tuple(sorted((int(s["points"]), str(s["restriction"])) for s in data.get("sanctions", []))),
            sources={k: str(v) for k, v in data.get("sources", {}).items()},
            limits={k: int(v) for k, v in raw_limits.items()},
            reminders=tuple(sorted(set(hours), reverse=True)),
        )
