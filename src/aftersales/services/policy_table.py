"""The policy in force as people read it: each timer of a policy with what it runs on, whom it
runs against and what the system does when it lapses, derived from the policy data and the
deadline tables of the subject kinds (never written out by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..domain.actions import Label
from ..domain.policy import REMINDED_PARTIES, TIMERS, Policy, WorkingDays
from .kinds import KINDS

PLATFORM_SIDE = "platform"


@dataclass(frozen=True)
class Lapse:
    """One place a timer runs: a kind's status, and the system's action when it lapses (None for
    a notice that only records a breach of the platform's own SLA)."""

    kind: str
    status: str
    action: str
    label: Label | None


@dataclass(frozen=True)
class TimerRow:
    name: str
    value: timedelta | WorkingDays
    measures: str  # the policy module's definition (from -> to)
    against: tuple[str, ...]  # the parties it runs against, ("platform",) or () for nobody's
    lapses: tuple[Lapse, ...]  # empty: a window that closes (a later step is refused), no action fires


def timers(policy: Policy) -> list[TimerRow]:
    """Every timer of `policy`, in the order the policy module defines them."""
    lapses: dict[str, list[Lapse]] = {}
    breaches: set[str] = set()
    for entry in KINDS.values():
        for status, (action, timer) in entry.kind.deadlines.items():
            spec = entry.machine.specs.get(action)
            lapses.setdefault(timer, []).append(Lapse(entry.name, status, action, spec.label if spec else None))
            if action in entry.kind.records:
                breaches.add(timer)
    rows = []
    for name, measures in TIMERS.items():
        against = (PLATFORM_SIDE,) if name in breaches else REMINDED_PARTIES.get(name, ())
        rows.append(TimerRow(name, policy.timers[name], measures, tuple(against), tuple(lapses.get(name, ()))))
    return rows
