"""A paused timer resumes with the time it had left, in the status it was paused in."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aftersales.services.transitions import PAUSED, pause_deadline, schedule

T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


@dataclass
class Subject:
    status: str
    deadline_action: str | None
    deadline_due_at: datetime | None
    policy: str = "p@1"
    extra: dict[str, Any] = field(default_factory=dict)


class Env:
    def due(self, policy: str, timer: str, now: datetime) -> datetime:
        return now + {"fresh": timedelta(hours=48), "other": timedelta(hours=24)}[timer]


class Kind:
    deadlines: ClassVar[dict[str, tuple[str, str]]] = {
        "waiting": ("lapse", "fresh"),
        "elsewhere": ("other_lapse", "other"),
    }
    paused = None


def test_resumes_with_what_was_left_not_afresh() -> None:
    s = Subject("waiting", "lapse", T0 + timedelta(hours=10))
    pause_deadline(s, T0)
    assert (s.deadline_action, s.deadline_due_at) == (None, None)
    s.status = "elsewhere"  # a status with its own timer keeps the pause
    schedule(Env(), Kind(), s, T0 + timedelta(hours=1))
    assert s.deadline_action == "other_lapse" and PAUSED in s.extra
    s.status = "waiting"
    held = s.extra
    schedule(Env(), Kind(), s, T0 + timedelta(days=3))
    assert (s.deadline_action, s.deadline_due_at) == ("lapse", T0 + timedelta(days=3, hours=10))
    assert PAUSED not in s.extra and PAUSED in held  # replaced, not mutated


def test_a_lapsed_timer_pauses_with_nothing_left_and_an_end_drops_the_pause() -> None:
    s = Subject("waiting", "lapse", T0 - timedelta(hours=1))
    pause_deadline(s, T0)
    assert s.extra[PAUSED]["left_us"] == 0
    s.status = "done"
    schedule(Env(), Kind(), s, T0)
    assert s.extra == {} and s.deadline_action is None
    pause_deadline(s, T0)  # no timer: nothing to hold
    assert s.extra == {}
