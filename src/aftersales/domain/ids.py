"""Identifiers that sort by creation time (keyset pagination walks them in order).

Within one millisecond (or under a clock that does not move) ids from one process still
increase: the random part of the previous id is incremented, as monotonic ULIDs do.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (-1, 0)


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def new_id(prefix: str, at: datetime) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 chars of (monotonic) randomness."""
    global _last
    millis = int(at.timestamp() * 1000)
    with _lock:
        last_millis, last_rand = _last
        if millis <= last_millis and last_rand + 1 < 1 << _RANDOM_BITS:
            millis, rand = last_millis, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last = (millis, rand)
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 16)}"
