"""The event stream on NATS JetStream (AFTERSALES_STREAM=nats): a `streams.Stream`.

Each message goes to `aftersales.<type>` (`aftersales.after_sale.approved`) with its `body()` as
payload and its id as `Nats-Msg-Id`, so JetStream drops a message it already stored within the
stream's duplicate window: the relay's retry after a lost acknowledgement stores nothing twice.

nats-py is asyncio and the relay is a plain thread, so a `NatsStream` owns a private event loop
in a thread of its own; `publish` hands it the batch and blocks, for at most `timeout` seconds,
until JetStream acknowledged every message. A batch is written in order on the one connection
(which is what keeps the stream's order per subject) and its acknowledgements are awaited
together, not one round trip per message. The connection is made at the first publish (a broker
down at start-up is one failed publish, not a process that cannot start); after that nats-py
reconnects by itself, and a publish while it is disconnected fails at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
from collections.abc import Coroutine, Sequence
from typing import Any

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from aftersales.integrations.envelope import Message

log = logging.getLogger("aftersales.stream")

# How long JetStream remembers a Nats-Msg-Id. Ours is longer than NATS's default two minutes so a
# relay retrying through a short outage or restarted by its supervisor still hits it; the cost is
# the server keeping the ids of ten minutes of messages in memory.
DUPLICATE_WINDOW = 10 * 60.0
# Past the publish's own timeout, how long the caller waits for the loop to give up by itself.
GRACE = 2.0
# Room in the server's max payload for our two headers besides their values (the HPUB framing).
HEADERS_ROOM = 64
# A type is dot-separated tokens a subject can hold: no space, no wildcard, no empty token.
TYPE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class PublishError(Exception):
    """The broker did not acknowledge every message; the caller publishes them again later."""


class NatsStream:
    def __init__(
        self,
        servers: str = "nats://127.0.0.1:4222",
        *,
        stream: str = "AFTERSALES",
        prefix: str = "aftersales",
        ensure_stream: bool = True,
        timeout: float = 10.0,
        duplicate_window: float = DUPLICATE_WINDOW,
    ) -> None:
        """`servers`: one URL or several comma-separated. `ensure_stream`: at the first connection,
        create the stream (subjects `<prefix>.>`, file storage, the duplicate window) or widen an
        existing one to cover them; pass False where operators manage the stream themselves."""
        self.servers = [s.strip() for s in servers.split(",")]
        self._where = ", ".join(re.sub(r"//[^/@]*@", "//", s) for s in self.servers)  # no credentials in logs
        self.stream, self.prefix, self.timeout = stream, prefix, timeout
        self.duplicate_window = duplicate_window
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = not ensure_stream
        self._closed = False
        self._lock = threading.Lock()  # one call on the loop at a time, and close after the last
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"nats-stream-{stream}", daemon=True)
        self._thread.start()

    def subject_of(self, message: Message) -> str:
        return f"{self.prefix}.{message.type}"

    def publish(self, messages: Sequence[Message]) -> None:
        """Every message stored in the stream (or found already there) when this returns;
        otherwise `PublishError` within `timeout` seconds, some perhaps stored (the retry's ids
        de-duplicate them). A type no subject can hold is a `ValueError`, nothing sent."""
        for message in messages:
            if not TYPE.fullmatch(message.type):
                raise ValueError(f"message {message.id}: type {message.type!r} cannot be a NATS subject")
        batch = [(self.subject_of(m), m.body(), m.id) for m in messages]
        if not batch:
            return
        with self._lock:
            if self._closed:
                raise PublishError("the NATS stream is closed")
            self._call(self._publish(batch))

    def close(self) -> None:
        """Flushes and closes the connection, then stops the loop and its thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._call(self._disconnect())
            except Exception as exc:  # closing anyway: the loop stops below whatever the broker says
                log.warning("closing the NATS connection: %s", exc)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    # the loop's thread ----------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        finally:
            self._loop.close()

    # the caller's thread --------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            future.result(self.timeout + GRACE)
        except concurrent.futures.TimeoutError:
            # The coroutine bounds itself by `timeout`; this is only the net under it.
            future.cancel()
            raise PublishError(f"NATS did not answer within {self.timeout:g}s") from None

    # on the loop ----------------------------------------------------------------------------
    async def _publish(self, batch: list[tuple[str, bytes, str]]) -> None:
        acks: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(self.timeout):
                js = await self._jetstream()
                assert self._nc is not None
                # The server's limit counts the headers too, and it drops a connection that passes it.
                limit = self._nc.max_payload - HEADERS_ROOM - len(self.stream)
                too_big = next((msg_id for _, body, msg_id in batch if len(body) + len(msg_id) > limit), None)
                if too_big is not None:  # refused before anything is sent: no later message overtakes it
                    raise PublishError(f"message {too_big} is larger than the server's {self._nc.max_payload} bytes")
                for subject, body, msg_id in batch:
                    # Expected stream: stored in ours, not in whatever other stream captures the subject.
                    headers = {"Nats-Msg-Id": msg_id}
                    acks.append(await js.publish_async(subject, body, headers=headers, stream=self.stream))
                results = await asyncio.gather(*acks, return_exceptions=True)
        except TimeoutError:  # ours, or one of nats-py's (which are asyncio's too)
            raise self._timed_out(len(batch)) from None
        except nats.errors.Error as exc:  # making or reading the stream (a permission, say)
            raise PublishError(f"NATS: {exc!r} ({self._state()})") from exc
        finally:
            for ack in acks:  # one never answered is no longer waited for
                ack.cancel()
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise PublishError(f"JetStream refused {len(failed)} of {len(batch)} messages: {failed[0]!r}")

    def _timed_out(self, count: int) -> PublishError:
        if self._nc is None:
            return PublishError(f"could not connect to NATS at {self._where} within {self.timeout:g}s")
        return PublishError(
            f"JetStream did not acknowledge {count} messages within {self.timeout:g}s ({self._state()})"
        )

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            nc = NATS()
            try:
                await nc.connect(
                    servers=self.servers,
                    name="aftersales",
                    connect_timeout=max(1, int(self.timeout)),
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,  # after the first connection: forever, nats-py's job
                    drain_timeout=max(1, int(self.timeout)),
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
            except BaseException:
                await nc.close()  # a first connection cut short by the timeout leaves nothing retrying
                raise
            self._nc, self._js = nc, nc.jetstream(timeout=self.timeout)
        if not self._nc.is_connected:
            raise PublishError(f"not connected to NATS ({self._state()})")
        assert self._js is not None
        if not self._stream_ready:
            await self._ensure_stream(self._js)
            self._stream_ready = True
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        """Creates the stream, or adds our subjects and window to one that exists: an operator's
        other settings (limits, replicas, retention) are left as they are."""
        subjects = f"{self.prefix}.>"
        try:
            config = (await js.stream_info(self.stream)).config
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[subjects],
                    storage=StorageType.FILE,
                    duplicate_window=self.duplicate_window,
                )
            )
            log.info("created the JetStream stream %s for %s", self.stream, subjects)
            return
        window = self.duplicate_window
        if config.max_age:  # JetStream wants the window within the stream's max age
            window = min(window, config.max_age)
        if subjects in (config.subjects or []) and (config.duplicate_window or 0) >= window:
            return
        config.subjects = sorted({*(config.subjects or []), subjects})
        config.duplicate_window = max(config.duplicate_window or 0, window)
        await js.update_stream(config)
        log.info("updated the JetStream stream %s: subjects %s, duplicate window %ss", self.stream, subjects, window)

    async def _disconnect(self) -> None:
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        if nc.is_connected:
            await nc.drain()  # what is buffered is sent before the socket closes
        else:
            await nc.close()

    def _state(self) -> str:
        nc = self._nc
        if nc is None or nc.is_closed:
            return f"no connection to {self._where}"
        if nc.is_connected:
            url = nc.connected_url
            return f"connected to {url.hostname}:{url.port}" if url else "connected"
        return f"reconnecting to {self._where}"

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if self._nc is not None and not self._closed:  # neither a first attempt nor our own close
            log.warning("NATS: disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        log.info("NATS: reconnected")
