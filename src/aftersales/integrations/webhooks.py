"""Signing and sending one webhook attempt (Standard Webhooks), with nothing of the database.

The signature covers `<webhook-id>.<webhook-timestamp>.<body>` with each active secret (during a
rotation's overlap, the new and the old: `v1,<new> v1,<old>`), so a receiver verifies with either.
The request goes to the address `addresses.resolve` checked at this very attempt (never to a
second lookup, which DNS rebinding could point elsewhere), with the URL's name as Host header and,
for https, as TLS SNI and certificate name. Redirects are not followed: a 3xx is a failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from . import addresses

USER_AGENT = "aftersales-webhooks/1"
ERROR_LENGTH = 500  # webhook_attempts.error
ANSWER_READ = 64 * 1024  # bytes of a receiver's answer read (and dropped) to keep its connection


def signature(message_id: str, at: datetime, body: bytes, secrets: list[str]) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    text = body.decode()
    return " ".join(Webhook(secret).sign(message_id, at, text) for secret in secrets)


def headers(message_id: str, at: datetime, body: bytes, secrets: list[str]) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(message_id, at, body, secrets),
    }


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no answer (refused, timed out, address not allowed)
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client(pool_size: int, timeout: float) -> httpx.Client:
    """One client for every sending thread (httpx's is thread-safe): `timeout` for each phase
    (connect, write, each read), connections kept alive per receiver."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        trust_env=False,  # no proxy from the environment: the checked address is the one we reach
    )


def send(http: httpx.Client, url: str, body: bytes, head: dict[str, str], *, allow_private: bool) -> Outcome:
    """POST `body` to `url` once; what came of it. Never raises for the receiver's faults."""
    started = time.monotonic()

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, int((time.monotonic() - started) * 1000), error and error[:ERROR_LENGTH])

    try:
        scheme, host, port = addresses.target(url)
        address = addresses.resolve(url, allow_private=allow_private)[0]
    except addresses.AddressRefused as exc:
        return outcome(None, f"address refused: {exc}")
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    direct = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    default_port = port == (443 if scheme == "https" else 80)
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    request_headers = {**head, "host": name if default_port else f"{name}:{port}"}
    extensions = {}
    if scheme == "https":
        # The pool keys connections by address: one opened with another name's SNI must not be
        # reused for this one, so https connections close after their attempt.
        extensions = {"sni_hostname": host}
        request_headers["connection"] = "close"
    try:
        with http.stream("POST", direct, content=body, headers=request_headers, extensions=extensions) as response:
            status = response.status_code
            # Nothing in the answer is ours to use, but a connection is kept for the next attempt
            # only once its answer was read to the end: a short one is; a long one is cut off.
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read > ANSWER_READ:
                    break
    except httpx.TimeoutException as exc:
        return outcome(None, f"timed out: {type(exc).__name__} {exc}".strip())
    except httpx.HTTPError as exc:
        return outcome(None, f"{type(exc).__name__}: {exc}")
    return outcome(status, None if 200 <= status < 300 else f"HTTP {status}")
