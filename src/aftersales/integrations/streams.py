"""The event stream: where the relay publishes every outbox message, besides the webhooks.

A `Stream` adapter (NATS JetStream in `nats_stream.py`; a Kafka one would sit beside it) must
guarantee:

- **At least once.** `publish` returns only when the broker has durably acknowledged every message
  of the call; otherwise it raises, and the relay publishes the same messages again later. It must
  never block past its own timeout (a broker outage is an exception, not a hang).
- **The message id is the de-duplication key.** `Message.id` is the same on every retry; the
  adapter hands it to the broker's de-duplication (JetStream's `Nats-Msg-Id`, Kafka's idempotent
  producer or a header consumers de-duplicate on), and consumers may rely on it too.
- **Order per subject.** Messages of one `Message.subject` are stored in the order they are
  passed, within one call and across calls (the relay passes them in outbox order and never
  starts a call before the previous one returned).
- Payload `Message.body()`, routed by `Message.type`, so a consumer can subscribe to one type.

`close` releases the connection; `publish` is not called after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from aftersales.integrations.envelope import Message

if TYPE_CHECKING:
    from aftersales.config import Settings


class Stream(Protocol):
    def publish(
        self, messages: Sequence[Message]
    ) -> None: ...  # blocks until the broker acknowledged every one; raises on failure
    def close(self) -> None: ...


def from_settings(settings: Settings) -> Stream | None:
    """The stream AFTERSALES_STREAM names, or None when none is configured (the default)."""
    if settings.stream == "nats":
        # Imported here: nats-py is loaded only by a process that publishes to NATS.
        from aftersales.integrations.nats_stream import NatsStream

        return NatsStream(settings.nats_url, stream=settings.nats_stream)
    return None
