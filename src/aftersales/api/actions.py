"""Running a POST: one transaction, its Idempotency-Key record inside it, ETag out."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import JSONResponse

from ..domain.errors import Conflict, DomainError, ValidationFailed
from ..runtime import Runtime
from ..services import idempotency, parties, reads
from ..services.context import Actor
from ..services.parties import Names
from ..store.unit_of_work import UnitOfWork
from .views import event_view

Work = Callable[[UnitOfWork], tuple[int, dict[str, Any]]]


# An ETag as we send it ("3"), weak or bare (W/"3", 3), or "*"; ASCII digits only, few enough
# for a BIGINT (str.isdigit() takes "²", which int() refuses). The OpenAPI declares this pattern.
IF_MATCH = re.compile(r'^(\*|(W/)?"?([0-9]{1,18})"?)$')
IF_MATCH_HEADER = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The `version` from the ETag; a stale one is 412",
    "schema": {"type": "string", "pattern": IF_MATCH.pattern},
}
IDEMPOTENCY_KEY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key and body return the first response again (kept 48 h)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    found = IF_MATCH.fullmatch(raw.strip())
    if found is None:
        raise ValidationFailed("If-Match must be a version as returned in ETag", fields=["If-Match"])
    # RFC 9110: "*" matches any current version.
    return None if found.group(1) == "*" else int(found.group(3))


def fingerprint(request: Request, body: Any) -> str:
    material = json.dumps([request.method, request.url.path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def respond(status: int, payload: dict[str, Any]) -> JSONResponse:
    headers = {"ETag": f'"{payload["version"]}"'} if "version" in payload else None
    return JSONResponse(payload, status_code=status, headers=headers)


def perform(request: Request, actor: Actor, body: Any, work: Work, *, own_transactions: bool = False) -> JSONResponse:
    """Run `work` in one transaction with its Idempotency-Key record. `own_transactions`: the work
    commits by itself (e.g. advancing the clock fires deadlines in transactions of their own), so
    the key is claimed before it runs and its response filled in after."""
    runtime: Runtime = request.app.state.runtime
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters", fields=["Idempotency-Key"])
    principal = idempotency.principal(actor)
    request_hash = fingerprint(request, body)
    if own_transactions:
        replay = _replay(runtime, principal, key, request_hash) if key else None
        return replay or _perform_claimed(runtime, principal, key, request_hash, work)
    try:
        with runtime.uow() as uow:
            # The key is looked up in the work's own transaction: one connection, one commit.
            stored = idempotency.lookup(uow, principal, key) if key else None
            if stored is not None:
                return _replayed(stored, request_hash)
            response = respond(*work(uow))
            if key:
                idempotency.remember(
                    uow,
                    principal=principal,
                    key=key,
                    request_hash=request_hash,
                    status_code=response.status_code,
                    body=bytes(response.body).decode(),
                    headers={"ETag": response.headers.get("etag", "")},
                    now=runtime.env.clock.now(),
                )
            uow.commit()
            return response
    except (sa.exc.IntegrityError, DomainError) as exc:
        return _lost_race(runtime, principal, key, request_hash, exc)


def _lost_race(
    runtime: Runtime, principal: str, key: str | None, request_hash: str, exc: sa.exc.IntegrityError | DomainError
) -> JSONResponse:
    """A duplicate of this very request may have committed first (we lost the race on the key's
    row, on the subject's version, or saw its effect): its response stands, ours rolled back.
    Otherwise the domain error stands, and a bare constraint violation is a clean conflict."""
    replay = _replay(runtime, principal, key, request_hash) if key else None
    if replay is not None:
        return replay
    if isinstance(exc, DomainError):
        raise exc
    raise Conflict("a concurrent request changed the same data; retry", code="concurrent_update") from None


def _perform_claimed(runtime: Runtime, principal: str, key: str | None, request_hash: str, work: Work) -> JSONResponse:
    """Work that commits by itself cannot take its key into its transaction: the key is claimed
    first (a duplicate arriving meanwhile is told it is in flight), then completed or released."""
    if not key:
        return respond(*work(None))  # type: ignore[arg-type]
    try:
        with runtime.uow() as uow:
            idempotency.remember(
                uow,
                principal=principal,
                key=key,
                request_hash=request_hash,
                status_code=idempotency.IN_FLIGHT,
                body="",
                headers={},
                now=runtime.env.clock.now(),
            )
            uow.commit()
    except sa.exc.IntegrityError as exc:
        return _lost_race(runtime, principal, key, request_hash, exc)
    try:
        response = respond(*work(None))  # type: ignore[arg-type]
    except BaseException:
        with runtime.uow() as uow:
            idempotency.release(uow, principal, key)
            uow.commit()
        raise
    with runtime.uow() as uow:
        idempotency.complete(
            uow,
            principal=principal,
            key=key,
            status_code=response.status_code,
            body=bytes(response.body).decode(),
            headers={"ETag": response.headers.get("etag", "")},
        )
        uow.commit()
    return response


def _replay(runtime: Runtime, principal: str, key: str, request_hash: str) -> JSONResponse | None:
    with runtime.uow() as uow:
        stored = idempotency.lookup(uow, principal, key)
    return None if stored is None else _replayed(stored, request_hash)


def _replayed(stored: Any, request_hash: str) -> JSONResponse:
    """The stored response of a key, or why it cannot be replayed for this request."""
    if stored.request_hash != request_hash:
        raise ValidationFailed("this Idempotency-Key was used with a different request", code="idempotency_key_reused")
    if stored.status_code == idempotency.IN_FLIGHT:
        raise Conflict(
            "a request with this Idempotency-Key is still in progress; retry shortly", code="idempotency_key_in_flight"
        )
    headers = {k: v for k, v in (stored.headers or {}).items() if v}
    headers["Idempotent-Replayed"] = "true"
    return JSONResponse(json.loads(stored.body), status_code=stored.status_code, headers=headers)


def read(request: Request, work: Callable[[UnitOfWork], Any]) -> Any:
    """Run a read-only use case in its own short transaction."""
    with request.app.state.runtime.uow(read_only=True) as uow:
        return work(uow)


def read_replica(request: Request, work: Callable[[UnitOfWork], Any]) -> Any:
    """`read`, from the read replica when there is one: for lists, queues and timelines, which may
    trail the primary by the replica's lag. A single subject's GET (its ETag feeds the caller's
    next If-Match) and anything an action checks read the primary, through `read` (docs/design.md)."""
    with request.app.state.runtime.replica_uow() as uow:
        return work(uow)


# The views are JSON-ready already: a JSONResponse skips FastAPI's generic encoder, which walks
# every value of a page again (5 ms of a 50-case page; bench/scale.py).
def timeline(request: Request, actor: Actor, kind: str, subject_id: str) -> JSONResponse:
    """A subject's events, oldest first, once the caller is shown to see it (from the replica)."""
    return JSONResponse(
        read_replica(
            request, lambda uow: {"items": [event_view(e) for e in reads.timeline(uow, actor, kind, subject_id)]}
        )
    )


def listing(
    request: Request, load: Callable[[UnitOfWork], reads.Page[Any]], view: Callable[[Any, Names], dict[str, Any]]
) -> JSONResponse:
    """One keyset page of what `load` found, each shown through `view` with its parties' names
    (looked up once for the page), and the next cursor; from the replica, if any."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        found = load(uow)
        names = parties.names(uow, found.items)
        return {"items": [view(x, names) for x in found.items], "next_cursor": found.next_cursor}

    return JSONResponse(read_replica(request, work))
