"""Rate limits: failed authentications per client address, requests per authenticated principal.

A sliding-window counter per key, O(1) memory each (api/rate_windows.py): in this process's
memory by default, or in any storage `limits` (the library behind Flask-Limiter and SlowAPI)
speaks, such as Redis. The counters read real time (monotonic, or the system time in `limits`).
That is deliberate and the one exception to the injected clock: a rate limiter measures real
request rates, not business time, and a simulated clock that jumps days ahead must not reset or
trip anyone's budget.

- A valid token spends its principal's budget (role + sub + merchant_id); past it, 429. The
  `integration` role (the marketplace's backend, feeding every order as one principal) has a
  larger budget of its own.
- Every 401 spends the client address's failure budget. Once it is spent, requests from that
  address without a valid token get 429 before anything else runs. Requests with a valid token
  still pass: tokens are signed, so failures cannot guess one, and blocking valid ones would
  let an attacker lock out everyone behind the same address (one office, one NAT).

The token is checked here on the event loop with the keys at hand; one whose check needs the
IdP's keys fetched first (a new `kid`, an expired cache) is checked on a worker thread, so the
fetch holds up only the requests that wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import limits
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..domain.errors import Unauthenticated, Unavailable
from ..services.context import Actor
from .auth import CHECKED_TOKEN, Verifier, verifier, verify
from .problems import problem
from .rate_windows import Windows, windows


@dataclass(frozen=True)
class Limiter:
    """One runtime's limits and their counters."""

    settings: Settings
    window: Windows
    failures: limits.RateLimitItem
    principal: limits.RateLimitItem
    integration: limits.RateLimitItem

    @classmethod
    def build(cls, settings: Settings) -> Limiter:
        return cls(
            settings=settings,
            window=windows(settings.rate_limit_storage),
            failures=limits.parse(settings.rate_limit_auth_failures),
            principal=limits.parse(settings.rate_limit_principal),
            integration=limits.parse(settings.rate_limit_integration),
        )

    def retry_after(self, item: limits.RateLimitItem, *key: str) -> int:
        """Whole seconds until the window has room again (at least 1)."""
        return self.window.retry_after(item, *key)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class RateLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiter: Limiter | None = None

    def limiter(self, settings: Settings) -> Limiter:
        # Built per runtime's settings: the test server swaps runtimes, each with fresh counters.
        if self._limiter is None or self._limiter.settings is not settings:
            self._limiter = Limiter.build(settings)
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.runtime.settings
        limiter = self.limiter(settings)
        token = _bearer(scope)
        principal, budget = None, limiter.principal
        if token is not None and (actor := await _caller(verifier(scope["app"].state), token)) is not None:
            scope.setdefault("state", {})[CHECKED_TOKEN] = (token, actor)
            principal = f"{actor.role}:{actor.id}:{actor.merchant_id or ''}"
            budget = limiter.integration if actor.role == "integration" else limiter.principal
        if principal is not None:
            if not limiter.window.hit(budget, "principal", principal):
                wait = limiter.retry_after(budget, "principal", principal)
                await _too_many(scope, receive, send, "rate_limited", "too many requests for this caller", wait)
                return
            await self.app(scope, receive, send)
            return

        if _public(scope["path"]):
            await self.app(scope, receive, send)  # (health checks and docs need no token to be refused)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        if not limiter.window.test(limiter.failures, "auth_failures", address):
            wait = limiter.retry_after(limiter.failures, "auth_failures", address)
            detail = "too many failed authentications from this address"
            await _too_many(scope, receive, send, "too_many_failed_authentications", detail, wait)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                limiter.window.hit(limiter.failures, "auth_failures", address)
            await send(message)

        await self.app(scope, receive, counting_send)


async def _caller(tokens: Verifier, token: str) -> Actor | None:
    """The token's caller, or None (the route answers 401, or 503 when the IdP's keys are missing)."""
    try:
        return await verify(tokens, token)
    except (Unauthenticated, Unavailable):
        return None


# Pages that take no token: an address over its failed-auth budget still reads them (a health
# check behind a proxy shares the address of every client).
_PUBLIC_PATHS = frozenset({"/", "/healthz", "/openapi.json", "/docs", "/redoc"})


def _public(path: str) -> bool:
    return path in _PUBLIC_PATHS or path.startswith("/docs/assets/")


async def _too_many(scope: Scope, receive: Receive, send: Send, code: str, detail: str, wait: int) -> None:
    response = problem(429, code, detail, {"Retry-After": str(wait)}, retry_after=wait)
    await response(scope, receive, send)
