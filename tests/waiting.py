"""Waiting for a condition, with a bound, instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL = 0.005


def wait_until(condition: Callable[[], object], timeout: float, *, poll: float = POLL) -> bool:
    """True as soon as `condition()` is true; False if it is still false after `timeout` seconds.
    `poll` is only how often it looks (make it longer when asking costs a query or a process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
