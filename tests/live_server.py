"""A real uvicorn server per test, built on that test's own runtime, and the client that speaks
to it. Nothing is shared between tests: a server is started for a test and stopped, with every
request it accepted finished, before the next test clears the database; its port is never handed
to a later server, so a request a test left behind is refused instead of reaching another test."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from typing import Any

import httpx
import uvicorn

from aftersales.api.app import create_app
from aftersales.api.auth import mint
from aftersales.api.header_limit import HeaderLimitedProtocol
from aftersales.domain.clock import SystemClock
from aftersales.runtime import Runtime

SECRET = "test-secret-of-at-least-thirty-two-bytes"
STARTUP_TIMEOUT = 10.0
# How long a stopping server lets the requests it accepted run before it cancels them; a test
# never leaves one running on purpose, so this only bounds a teardown after a bug.
GRACE = 5.0
_used_ports: set[int] = set()
# Built once: httpx would load the system's CA bundle for every client (~60 ms each, and tests make
# a client per role they speak as), though these clients only ever speak plain HTTP.
_TLS = ssl.create_default_context()


def _fresh_socket() -> socket.socket:
    """A socket bound to a port no earlier server of this session had (the kernel may repeat one)."""
    for _ in range(100):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return sock
        sock.close()
    raise RuntimeError("no fresh port after 100 tries")


class _Server(uvicorn.Server):
    """uvicorn's server, stopped on an event instead of its 0.1 s polling loop and fixed pause, so
    starting and stopping one per test costs milliseconds."""

    def __init__(self, config: uvicorn.Config, grace: float) -> None:
        super().__init__(config)
        self.grace = grace
        self.up = threading.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        self.up.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers (Date) once
        await self._stop.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after their response
        state = self.server_state
        if not await _until(lambda: not state.connections and not state.tasks, self.grace):
            for task in state.tasks:
                task.cancel()
            for connection in list(state.connections):
                connection.transport.close()  # a client still sending is cut off, not waited for
            # A cancelled request waiting on a worker thread ends only when that thread returns.
            if not await _until(lambda: not state.tasks, 60):
                raise RuntimeError(f"{len(state.tasks)} request(s) still running a minute after cancel")
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()

    def request_stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)


async def _until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


class Api:
    """An HTTP client that speaks as a given role to one server: `api.as_("buyer", "b-1").post(...)`.
    `api.runtime` is the runtime the server answers from, `api.clock` its clock."""

    def __init__(self, base_url: str, runtime: Runtime) -> None:
        self.base_url, self.runtime, self.clock = base_url, runtime, runtime.env.clock
        self.port = int(base_url.rsplit(":", 1)[1])
        self._clients: list[httpx.Client] = []
        self.anonymous = self._client({})

    def token(self, role: str, sub: str, merchant_id: str | None = None) -> str:
        # Token expiry is checked against real time (PyJWT), whatever the business clock says.
        return mint(SECRET, sub=sub, role=role, merchant_id=merchant_id, now=SystemClock().now())

    def as_(self, role: str, sub: str | None = None, merchant_id: str | None = None) -> httpx.Client:
        sub = sub or {"merchant": f"{merchant_id or 'm-1'}-staff"}.get(role, f"{role}-1")
        if role == "merchant":
            merchant_id = merchant_id or "m-1"
        return self._client({"Authorization": f"Bearer {self.token(role, sub, merchant_id)}"})

    def _client(self, headers: dict[str, str]) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=_TLS)
        self._clients.append(client)
        return client

    def close(self) -> None:
        """Every client this Api handed out refuses to send from now on."""
        for client in self._clients:
            client.close()


class LiveServer:
    """One uvicorn server in a thread, answering from `create_app(runtime)`."""

    def __init__(self, runtime: Runtime, *, grace: float = GRACE) -> None:
        sock = _fresh_socket()
        self.port = sock.getsockname()[1]
        self.app = create_app(runtime)
        # The request-head cap `aftersales serve` runs with (api/header_limit.py).
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", http=HeaderLimitedProtocol)
        self.server = _Server(config, grace)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{self.port}", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.up.wait(0.05):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test server on port {self.port} did not start")
        self.api = Api(f"http://127.0.0.1:{self.port}", runtime)

    def stop(self) -> None:
        """Refuse new connections, let accepted requests finish (cancel them after the grace) and
        wait for the server thread to end."""
        if hasattr(self, "api"):
            self.api.close()
        self.server.request_stop()
        self.thread.join(timeout=GRACE + 70)
        if self.thread.is_alive():
            raise RuntimeError(f"the test server on port {self.port} did not stop")
