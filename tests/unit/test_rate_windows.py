"""The in-memory sliding-window counters: a budget per key, the previous window weighing in as it
slides out, an honest Retry-After, and keys of past windows forgotten."""

from __future__ import annotations

import limits
import pytest

from aftersales.api import rate_windows
from aftersales.api.rate_windows import MemoryWindows


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


TEN_PER_MINUTE = limits.parse("10/minute")


def fill(counters: MemoryWindows, n: int, *key: str) -> list[bool]:
    return [counters.hit(TEN_PER_MINUTE, *key) for _ in range(n)]


def test_a_key_gets_its_budget_and_the_next_request_is_refused_without_being_counted():
    clock = Clock(6000.0)  # the start of a window
    counters = MemoryWindows(clock)
    assert fill(counters, 10, "p", "a") == [True] * 10
    assert not counters.test(TEN_PER_MINUTE, "p", "a")
    assert not counters.hit(TEN_PER_MINUTE, "p", "a")
    assert counters.test(TEN_PER_MINUTE, "p", "b") and counters.hit(TEN_PER_MINUTE, "p", "b")
    clock.at += 60 * 2  # two windows later nothing of it weighs
    assert fill(counters, 10, "p", "a") == [True] * 10


def test_the_previous_window_weighs_in_proportion_to_what_still_overlaps():
    clock = Clock(6000.0)
    counters = MemoryWindows(clock)
    fill(counters, 10, "k")
    clock.at += 60 + 15  # a quarter into the next window: 10 * 3/4 = 7.5 still count
    assert fill(counters, 3, "k") == [True, True, False]
    clock.at += 30  # three quarters in: 10 * 1/4 + 2 = 4.5
    assert fill(counters, 6, "k") == [True] * 5 + [False]


def test_retry_after_is_when_one_more_request_fits():
    clock = Clock(6000.0)
    counters = MemoryWindows(clock)
    fill(counters, 10, "k")
    wait = counters.retry_after(TEN_PER_MINUTE, "k")
    # Full in this window: room comes in the next, once 1/10 of this one has slid out.
    assert wait == 60 + 6
    clock.at += wait - 1
    assert not counters.test(TEN_PER_MINUTE, "k")
    clock.at += 1
    assert counters.test(TEN_PER_MINUTE, "k")
    assert counters.retry_after(TEN_PER_MINUTE, "nobody") == 1


def test_keys_of_past_windows_are_swept(monkeypatch):
    monkeypatch.setattr(rate_windows, "SWEEP_EVERY", 5)
    clock = Clock(6000.0)
    counters = MemoryWindows(clock)
    fill(counters, 1, "old")
    clock.at += 120
    for i in range(3):
        counters.hit(TEN_PER_MINUTE, f"new-{i}")
    assert {key[-1] for key in counters._counts} == {"old", "new-0", "new-1", "new-2"}
    counters.hit(TEN_PER_MINUTE, "new-3")  # the fifth hit sweeps
    assert {key[-1] for key in counters._counts} == {f"new-{i}" for i in range(4)}


@pytest.mark.parametrize("storage", ["memory://", "memory://?x=1"])
def test_memory_is_served_by_our_counters_and_other_storages_by_limits(storage):
    chosen = rate_windows.windows(storage)
    assert isinstance(chosen, MemoryWindows) == (storage == "memory://")
    assert chosen.hit(TEN_PER_MINUTE, "k") and chosen.test(TEN_PER_MINUTE, "k")
