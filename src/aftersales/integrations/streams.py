"""The seam to an event stream (a broker the relay publishes every outbox message to, in order).

`publish` blocks until the broker has acknowledged every message and raises if it did not: the
relay marks the rows published only after it returns. Delivery is at least once (a relay that
dies between the acknowledgement and its commit publishes the batch again); the message id
(`Message.id`, the broker's de-duplication id) makes the repeat harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .envelope import Message


class Stream(Protocol):
    def publish(self, messages: Sequence[Message]) -> None: ...

    def close(self) -> None: ...
