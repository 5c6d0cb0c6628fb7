"""The event stream on a real NATS JetStream server (loopback): what a consumer reads back, the
de-duplication of a redelivery, the stream made or widened at start, and a broker that does not
answer. Each test works in a stream and subject prefix of its own, deleted after it, so parallel
runs never see each other's messages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import nats
import pytest
import sqlalchemy as sa
from nats.js.errors import NotFoundError

from aftersales.integrations import envelope
from aftersales.integrations.envelope import Message
from aftersales.integrations.nats_stream import DUPLICATE_WINDOW, NatsStream, PublishError
from aftersales.store import tables as t
from builders import World
from waiting import wait_until

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Where:
    url: str
    stream: str
    prefix: str

    def open(self, **options: Any) -> NatsStream:
        return NatsStream(self.url, stream=self.stream, prefix=self.prefix, **options)


async def _jetstream(url: str, work: Any) -> Any:
    nc = await nats.connect(url)
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()


def _on(url: str, work: Any) -> Any:
    return asyncio.run(_jetstream(url, work))


@pytest.fixture
def where(nats_url: str) -> Iterator[Where]:
    tag = uuid.uuid4().hex[:12]
    place = Where(nats_url, f"AFTERSALES_TEST_{tag}", f"aftersales_test_{tag}")
    yield place

    async def delete(js: Any) -> None:
        with contextlib.suppress(NotFoundError):  # a test that never published made none
            await js.delete_stream(place.stream)

    _on(nats_url, delete)


@pytest.fixture
def stream(where: Where) -> Iterator[NatsStream]:
    opened = where.open()
    yield opened
    opened.close()


def _read(where: Where) -> list[tuple[str, dict[str, Any], str | None]]:
    """Every message of the stream, in stream order, through an ephemeral pull consumer: its
    subject, its body and its Nats-Msg-Id."""

    async def read(js: Any) -> list[Any]:
        count = (await js.stream_info(where.stream)).state.messages
        if not count:
            return []
        consumer = await js.pull_subscribe(f"{where.prefix}.>", stream=where.stream)
        got: list[Any] = []
        while len(got) < count:
            got += await consumer.fetch(count - len(got), timeout=5)
        return [(m.subject, m.data, (m.headers or {}).get("Nats-Msg-Id")) for m in got]

    return [(subject, json.loads(data), msg_id) for subject, data, msg_id in _on(where.url, read)]


def _message(n: int, type_: str = "after_sale.approved", subject: str = "after_sale:AS1") -> Message:
    return Message(id=f"msg_{n}", type=type_, subject=subject, timestamp=AT, data={"event_id": n})


def _expected(where: Where, messages: list[Message]) -> list[tuple[str, dict[str, Any], str]]:
    return [(f"{where.prefix}.{m.type}", json.loads(m.body()), m.id) for m in messages]


@pytest.mark.nats
def test_a_batch_is_stored_once_on_its_subjects_with_its_body_and_id(where, stream):
    batch = [
        _message(1, "order.created", "order:o-1"),
        _message(2, "after_sale.created"),
        _message(3, "after_sale.approved"),
        _message(4, "dispute.sla_breached", "dispute:D1"),
    ]
    stream.publish(batch)
    assert _read(where) == _expected(where, batch)
    assert stream.subject_of(batch[1]) == f"{where.prefix}.after_sale.created"


@pytest.mark.nats
def test_publishing_the_same_messages_again_stores_nothing_twice(where, stream):
    first = [_message(n) for n in range(1, 6)]
    stream.publish(first)
    stream.publish(first)  # the relay's retry after an acknowledgement it never saw
    stream.publish([*first[3:], _message(6)])  # a retry that overlaps the next batch
    assert _read(where) == _expected(where, [*first, _message(6)])


@pytest.mark.nats
def test_the_stream_is_created_with_our_subjects_and_duplicate_window(where, stream):
    stream.publish([_message(1)])
    config = _on(where.url, lambda js: js.stream_info(where.stream)).config
    assert config.subjects == [f"{where.prefix}.>"]
    assert config.duplicate_window == DUPLICATE_WINDOW


@pytest.mark.nats
def test_an_existing_stream_is_widened_and_keeps_its_operators_settings(where):
    other = f"{where.prefix}_other.>"

    async def make(js: Any) -> None:
        await js.add_stream(name=where.stream, subjects=[other], duplicate_window=30, max_msgs=1000)

    _on(where.url, make)
    opened = where.open()
    try:
        opened.publish([_message(1)])
    finally:
        opened.close()
    config = _on(where.url, lambda js: js.stream_info(where.stream)).config
    assert sorted(config.subjects) == sorted([other, f"{where.prefix}.>"])
    assert (config.duplicate_window, config.max_msgs) == (DUPLICATE_WINDOW, 1000)


@pytest.mark.nats
def test_without_ensure_stream_a_missing_stream_is_a_failed_publish(where):
    opened = where.open(ensure_stream=False, timeout=3)
    try:
        with pytest.raises(PublishError, match="refused 1 of 1"):
            opened.publish([_message(1)])
    finally:
        opened.close()


@pytest.mark.nats
def test_a_closed_stream_refuses_to_publish(where):
    opened = where.open()
    opened.publish([_message(1)])
    opened.close()
    opened.close()  # idempotent
    with pytest.raises(PublishError, match="closed"):
        opened.publish([_message(2)])
    assert len(_read(where)) == 1


@pytest.mark.nats
def test_a_type_no_subject_can_hold_is_refused_before_anything_is_sent(where, stream):
    with pytest.raises(ValueError, match="cannot be a NATS subject"):
        stream.publish([_message(1), _message(2, "after_sale.*")])
    stream.publish([])  # nothing to do, nothing to connect for
    assert _on(where.url, lambda js: _missing(js, where.stream))


@pytest.mark.nats
def test_a_message_over_the_servers_limit_is_refused_before_any_of_its_batch_is_sent(where, stream):
    stream.publish([_message(1)])
    huge = Message(
        id="msg_3", type="after_sale.approved", subject="after_sale:AS1", timestamp=AT, data={"x": "x" * 2**20}
    )
    with pytest.raises(PublishError, match="msg_3 is larger than the server's"):
        stream.publish([_message(2), huge])
    stream.publish([_message(2)])  # the connection is still good
    assert _read(where) == _expected(where, [_message(1), _message(2)])


async def _missing(js: Any, name: str) -> bool:
    try:
        await js.stream_info(name)
    except NotFoundError:
        return True
    return False


@pytest.mark.parametrize("server", ["refusing", "silent"])
def test_a_publish_to_a_server_that_does_not_answer_raises_within_its_timeout(server):
    """A port bound and not listening (refused), or one that accepts and never speaks (a hung broker)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        if server == "silent":
            listener.listen()
        opened = NatsStream(f"nats://127.0.0.1:{listener.getsockname()[1]}", stream="UNREACHABLE", timeout=0.5)
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                attempt = pool.submit(opened.publish, [_message(1)])
                # A bound far above the 0.5 s timeout: only a publish that hangs reaches it.
                with pytest.raises(PublishError, match=r"could not connect to NATS at nats://127\.0\.0\.1"):
                    attempt.result(timeout=30)
        finally:
            opened.close()


class Outage:
    """A TCP forwarder to the NATS server that a test can cut (every connection dropped, new
    ones refused: the broker is gone) and restore on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, 0
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self._start(self._accept, self.listener)

    def cut(self) -> None:
        with self.lock:
            for sock in [self.listener, *self.sockets]:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
                sock.close()
            self.sockets.clear()

    def stop(self) -> None:
        self.cut()
        for thread in self.threads:
            thread.join()

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            self._start(self._pipe, client, upstream)
            self._start(self._pipe, upstream, client)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)


@pytest.mark.nats
def test_a_publish_while_the_broker_is_gone_raises_and_one_after_it_is_back_succeeds(where):
    url = urlsplit(where.url)
    outage = Outage((url.hostname or "127.0.0.1", url.port or 4222))
    opened = NatsStream(f"nats://127.0.0.1:{outage.port}", stream=where.stream, prefix=where.prefix, timeout=2)
    try:
        opened.publish([_message(1)])
        outage.cut()
        # Sent before nats-py saw the socket close, it waits out its timeout; sent after, it fails at once.
        with pytest.raises(PublishError, match=r"within 2s \(reconnecting|not connected to NATS \(reconnecting"):
            opened.publish([_message(2)])
        outage.restore()

        def published() -> bool:  # the relay's retry: the same batch again until it goes through
            try:
                opened.publish([_message(2), _message(3)])
            except PublishError:
                return False
            return True

        assert wait_until(published, timeout=30, poll=0.2)  # nats-py reconnects by itself
    finally:
        opened.close()
        outage.stop()
    assert _read(where) == _expected(where, [_message(1), _message(2), _message(3)])


@pytest.mark.nats
def test_a_scripted_case_reaches_the_stream_once_in_outbox_order(where, stream, runtime, clock):
    """Receives every event of a scripted case once after de-duplication: an order, a return
    filed and approved, its outbox rows published twice (a relay that crashed after publishing,
    before it marked them streamed), read back in order by a JetStream consumer."""
    w = World(runtime, clock)
    case = w.walk(w.case(w.order()), "approve")
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(t.outbox.c.topic, t.outbox.c.payload).order_by(t.outbox.c.id)).all()
    messages = [envelope.from_outbox(row.topic, row.payload) for row in rows]
    types = [m.type for m in messages if m.subject == f"after_sale:{case.id}"]
    assert types[0] == "after_sale.created" and types[-1] == "after_sale.approved"
    half = len(messages) // 2
    stream.publish(messages[: half + 1])
    stream.publish(messages)  # again, from the first message not marked streamed
    assert _read(where) == _expected(where, messages)
