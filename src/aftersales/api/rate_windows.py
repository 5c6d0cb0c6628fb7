"""Sliding-window request counters: in this process's memory, or in a `limits` storage.

The in-memory counters are the default (`memory://`). `limits`' own memory storage starts a
timer thread to expire keys and then walks every key it holds, up to a hundred times a second:
with a few thousand callers that cost more CPU than the requests it counted. These keep two
fixed windows per key (the current and the previous one, weighted by how much of it still
overlaps the sliding window: the algorithm of `limits`' sliding-window counter) and drop keys
of past windows as they go, on the caller's own thread. They are used on the event loop only.
Any other storage (Redis, to share budgets across processes) goes through `limits` itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

import limits
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

SWEEP_EVERY = 4096  # hits between sweeps of the keys whose windows have passed


class Windows(Protocol):
    def hit(self, item: limits.RateLimitItem, *key: str) -> bool:
        """Count one request; False (and nothing counted) when the window is full."""
        ...

    def test(self, item: limits.RateLimitItem, *key: str) -> bool:
        """Whether one more request would fit, counting nothing."""
        ...

    def retry_after(self, item: limits.RateLimitItem, *key: str) -> int:
        """Whole seconds until one more request fits (at least 1)."""
        ...


def windows(storage: str) -> Windows:
    if storage == "memory://":
        return MemoryWindows()
    return StoredWindows(storage)


class MemoryWindows:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # Real elapsed time, never the injected business clock: a simulated clock that jumps days
        # ahead must not reset anyone's budget (see api/rate_limits.py).
        self._now = clock
        # key -> (window number, its count, the previous window's count, when the key weighs nothing)
        self._counts: dict[tuple[str, ...], tuple[int, int, int, float]] = {}
        self._hits = 0

    def hit(self, item: limits.RateLimitItem, *key: str) -> bool:
        length, now = item.get_expiry(), self._now()
        window, current, previous = self._counters(item, key, now)
        if _weighted(current, previous, length, now) + 1 > item.amount:
            return False
        self._counts[(item.key_for(), *key)] = (window, current + 1, previous, (window + 2) * length)
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self._sweep(now)
        return True

    def test(self, item: limits.RateLimitItem, *key: str) -> bool:
        length, now = item.get_expiry(), self._now()
        _, current, previous = self._counters(item, key, now)
        return _weighted(current, previous, length, now) + 1 <= item.amount

    def retry_after(self, item: limits.RateLimitItem, *key: str) -> int:
        length, now = item.get_expiry(), self._now()
        window, current, previous = self._counters(item, key, now)
        room = item.amount - 1  # what the weighted count must fall to
        if current > room:
            # Not in this window: in the next, when enough of this one has slid out.
            at = (window + 1) * length + length * (1 - room / current)
        elif previous:
            at = window * length + length * (1 - (room - current) / previous)
        else:
            at = now
        return max(1, math.ceil(at - now))

    def _counters(self, item: limits.RateLimitItem, key: tuple[str, ...], now: float) -> tuple[int, int, int]:
        """(this window's number, its count, the previous window's count) for `key` at `now`."""
        window = int(now // item.get_expiry())
        stored, current, previous, _ = self._counts.get((item.key_for(), *key), (window, 0, 0, 0.0))
        if stored == window:
            return window, current, previous
        return window, 0, current if stored == window - 1 else 0

    def _sweep(self, now: float) -> None:
        # A key last counted two windows ago weighs nothing any more.
        for k in [k for k, counts in self._counts.items() if counts[3] <= now]:
            del self._counts[k]


def _weighted(current: int, previous: int, length: int, now: float) -> float:
    elapsed = now % length
    return previous * (length - elapsed) / length + current


class StoredWindows:
    """The same counters in a `limits` storage (e.g. `redis://host:6379`, shared by processes)."""

    def __init__(self, storage: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage))

    def hit(self, item: limits.RateLimitItem, *key: str) -> bool:
        return self._limiter.hit(item, *key)

    def test(self, item: limits.RateLimitItem, *key: str) -> bool:
        return self._limiter.test(item, *key)

    def retry_after(self, item: limits.RateLimitItem, *key: str) -> int:
        # `limits` reads the system time for its windows: reset_time is on that clock.
        reset = self._limiter.get_window_stats(item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))
