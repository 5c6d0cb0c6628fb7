"""A real webhook receiver on loopback: an HTTP server in a thread that verifies every request's
Standard Webhooks signature with the `standardwebhooks` library, as a marketplace would, and
answers what the test scripts (200 by default, a status, or a hold until released)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS10ZXN0LXJlY2VpdmVyLTMyYg=="  # base64 of 32 bytes


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: list[str]  # the secrets (of those the receiver knows) whose signature matched

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=lambda: [SECRET])
    # What to answer: a status per request (called with the request), 200 unless set.
    answer: Callable[[Received], int] = lambda _: 200
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.release = threading.Event()  # for answers that hold a request until released
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                got = Received(self.path, headers, body, verified)
                with receiver._lock:
                    receiver.received.append(got)
                status = receiver.answer(got)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: connections are refused until `start` again (same port)."""
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(10)
            self._server = None

    def hold(self, _: Received) -> int:
        """An answer that keeps the request waiting until `release` is set."""
        self.release.wait(60)
        return 200

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)
