"""Every request's id, its log line and its duration metric: the outermost middleware.

- The id is the client's `X-Request-Id` when it is a plain token (1-128 of letters, digits and
  `-_.:`), otherwise a fresh one: a header that could forge log lines (a newline) or bloat them
  is replaced, not trusted. It is echoed as `X-Request-Id` on every response, errors, 404s,
  405s and 429s included, and bound to every log line written while the request runs.
- One log line per request (`aftersales.access`, event `request`): method, route template,
  path, status, duration in ms, the request id, and the caller's role and sub when a token was
  accepted. Never a header value, a token or a body.
- `aftersales_http_request_duration_seconds` by method, route *template* (`/v1/orders/{order_id}`,
  never the path, so ids do not multiply the series) and status code; a path no route matches
  counts as route `unmatched`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import logs, metrics

HEADER = "X-Request-Id"
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"
MAX_PATH = 256  # characters of the path a log line keeps
# Anything else a client sends as a method is counted as one label, not one series each.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_log = logs.get("aftersales.access")


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if VALID_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _flat(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes themselves: FastAPI keeps an included router's behind an object of its own
    (`original_router`), which matches but has no path."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        elif getattr(route, "path", None):
            yield route


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (or would have, for a 405)."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    partial = None
    for candidate in _flat(getattr(scope.get("app"), "routes", ())):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(candidate.path)
        if match == Match.PARTIAL and partial is None:
            partial = str(candidate.path)
    return partial or UNMATCHED


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()  # a duration, not business time
        request_id = request_id_of(scope)
        logs.bind_request_id(request_id)
        status = 500  # what the client gets if the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.monotonic() - started)
            # The id stays bound: uvicorn logs an app's exception after this, in the same task;
            # each request runs in a task of its own, so it reaches no other request.

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_template(scope)
        metrics.HTTP_DURATION.labels(method=method, route=route, status=str(status)).observe(seconds)
        runtime = scope["app"].state.runtime
        if runtime is not None and not runtime.settings.access_log:
            return
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "path": scope["path"][:MAX_PATH],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        actor = scope.get("state", {}).get("actor")  # set by api/auth.py once a token is accepted
        if actor is not None:
            fields["role"], fields["sub"] = actor.role, actor.id
        access_log.info("request", **fields)
