"""Identifiers that sort by creation time (keyset pagination walks them in order)."""

from __future__ import annotations

import os
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def new_id(prefix: str, at: datetime) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars (ULID layout)."""
    millis = int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 16)}"
