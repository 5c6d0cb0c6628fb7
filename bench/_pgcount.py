"""Counting the database round trips a server makes, from outside it: a TCP proxy between the
server and PostgreSQL that reads the frontend side of the wire protocol.

A round trip is a flush of the client's after which it waits for PostgreSQL: in the protocol,
a burst of messages holding a Sync (extended query: Parse/Bind/Describe/Execute ... Sync) or a
simple Query. The proxy counts each chunk it receives from a client that holds at least one,
so a pipeline of many Syncs sent at once counts once, as it costs one wait; it also counts
statements (Execute and simple Query messages). Nothing is decoded but the 5-byte message
headers, and PostgreSQL's answers are forwarded unread, so the proxy costs a few tens of
microseconds of CPU per round trip, in a process of its own (its CPU is reported apart from the
server's). The server must not ask for TLS, which would hide the messages: this PostgreSQL has
`ssl` off, and the proxy refuses any SSLRequest itself (answers 'N'), as such a server would.

Why not pg_stat_statements: it needs shared_preload_libraries and a restart of a PostgreSQL the
whole team shares. Why not counting the backends' socket segments (ss, tcp_info): one flush is
not always one segment, and the counts of a connection that closes are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
from collections.abc import Iterator
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any, NamedTuple, cast

ROUND_TRIPS, STATEMENTS, CONNECTIONS = 0, 1, 2
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
SYNC, QUERY, EXECUTE = ord("S"), ord("Q"), ord("E")


class Frontend:
    """The client→server byte stream of one connection, cut into messages by their headers:
    first the untyped startup packets (length, code), then typed ones (type byte, length)."""

    def __init__(self) -> None:
        self.startup = True
        self.head = b""
        self.skip = 0
        self.ssl_asked = False  # an SSLRequest/GSSENCRequest just ended: the proxy answers it

    def feed(self, data: bytes) -> tuple[int, int]:
        """(1 if this chunk ends a round trip else 0, statements in it)."""
        syncs = statements = 0
        i, end = 0, len(data)
        while i < end:
            if self.skip:
                step = min(self.skip, end - i)
                self.skip -= step
                i += step
                continue
            size = 8 if self.startup else 5
            take = size - len(self.head)
            self.head += data[i : i + take]
            i += take
            if len(self.head) < size:
                break
            head, self.head = self.head, b""
            if self.startup:
                length, code = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
                self.skip = length - 8
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.ssl_asked = True
                else:
                    self.startup = False
            else:
                kind = head[0]
                self.skip = int.from_bytes(head[1:], "big") - 4
                syncs += kind in (SYNC, QUERY)
                statements += kind in (EXECUTE, QUERY)
        return min(syncs, 1), statements


class _Backend(asyncio.Protocol):
    """The proxy's connection to PostgreSQL: whatever it says goes back to the client unread."""

    def __init__(self, client: asyncio.Transport) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.close()


class _Client(asyncio.Protocol):
    """One connection of the server's pool to the proxy."""

    def __init__(self, upstream: tuple[str, int], counts: Any) -> None:
        self.upstream, self.counts = upstream, counts
        self.frontend = Frontend()
        self.backend: asyncio.Transport | None = None
        self.early: list[bytes] = []  # what the client sent before PostgreSQL answered our connect

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one, not by class
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.counts[CONNECTIONS] += 1
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            backend, _ = await loop.create_connection(lambda: _Backend(self.transport), *self.upstream)
        except OSError:
            self.transport.close()
            return
        backend.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.backend = backend
        for data in self.early:
            backend.write(data)
        self.early.clear()

    def data_received(self, data: bytes) -> None:
        trip, statements = self.frontend.feed(data)
        self.counts[ROUND_TRIPS] += trip
        self.counts[STATEMENTS] += statements
        if self.frontend.ssl_asked:  # "no TLS here": the client goes on in the clear
            self.frontend.ssl_asked = False
            self.transport.write(b"N")
            return  # an SSLRequest comes alone: the client waits for the answer before more
        if self.backend is None:
            self.early.append(data)
        else:
            self.backend.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.backend is not None:
            self.backend.close()


def _run(port: int, upstream: tuple[str, int], counts: Any, ready: Any) -> None:
    with contextlib.suppress(ImportError):
        import uvloop  # the server's own event loop (uvicorn[standard]): cheaper per forward

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Client(upstream, counts), "127.0.0.1", port)
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


class Counter(NamedTuple):
    port: int
    pid: int
    counts: SynchronizedArray[Any]

    def round_trips(self) -> int:
        return int(self.counts[ROUND_TRIPS])

    def statements(self) -> int:
        return int(self.counts[STATEMENTS])


@contextlib.contextmanager
def counting_proxy(host: str, port: int) -> Iterator[Counter]:
    """A counting proxy to PostgreSQL at host:port, in a child process, on a free loopback port.
    Started by fork (before the load generator's event loop and threads exist); the counters are
    shared memory the child increments and the parent reads without a lock (each is one word)."""
    ctx = multiprocessing.get_context("fork")
    counts = ctx.RawArray("q", 3)
    ready = ctx.Event()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = s.getsockname()[1]
    proc = ctx.Process(target=_run, args=(listen, (host, port), counts, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(20):
            raise RuntimeError("the counting proxy did not start")
        assert proc.pid is not None
        yield Counter(listen, proc.pid, counts)
    finally:
        proc.terminate()
        proc.join(10)
