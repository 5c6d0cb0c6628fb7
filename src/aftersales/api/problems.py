"""RFC 9457 problem responses: the one place domain error codes become HTTP statuses."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import StringConstraints, TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..domain import errors as e
from ..domain.media import FileTooLarge, UnsupportedMediaType
from ..integrations.storage import StorageUnavailable
from . import document
from .actions import IDEMPOTENCY_KEY_HEADER, IF_MATCH_HEADER

STATUS: list[tuple[type[e.DomainError], int]] = [
    (e.Unauthenticated, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.PreconditionFailed, 412),
    (FileTooLarge, 413),
    (UnsupportedMediaType, 415),
    (e.ValidationFailed, 422),
    (e.IllegalTransition, 409),
    (e.DeadlinePassed, 409),
    (e.VersionConflict, 409),
    (e.Conflict, 409),
    (e.Unavailable, 503),
    (e.NotConfigured, 503),
]
_TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "instance"})


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, /, **extra: Any
) -> JSONResponse:
    # An error's own fields never overwrite the problem's members: an IllegalTransition's
    # `status` is the subject's state (e.g. "pending_merchant"), sent as `current_status`.
    body = {f"current_{k}" if k in _MEMBERS else k: v for k, v in extra.items()}
    body.update(
        {
            "type": f"https://aftersales.dev/problems/{code}",
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "code": code,
        }
    )
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def status_of(exc: e.DomainError) -> int:
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 400)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details with a stable `code`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On a 422 that can point at its input: one entry per offending input.",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": 'Where: `["body", "amount"]`, `["query", "limit"]`, '
                        '`["header", "if-match"]` for a malformed request; the field\'s name alone '
                        '(`["amount"]`) for a well-formed value the rules refuse.',
                    },
                    "msg": {"type": "string", "description": "What is wrong, for people."},
                    "type": {"type": "string", "description": "What is wrong, for programs."},
                },
            },
        },
    },
}
# The problems every operation may answer with, by method; /healthz answers only 200.
# 429: the rate limits (api/rate_limits.py); 413: the body cap on writes (api/limits.py).
_ANY = (401, 403, 404, 422, 429, 503)
_WRITE = (409, 412, 413)
_UPLOAD = (415,)


def _documented(app: FastAPI) -> None:
    """Declare what FastAPI cannot derive: the problem responses, so clients (and the contract
    tests) know every status an operation can answer with and its shape; and the retry headers
    every write honours (Idempotency-Key; If-Match on state-machine actions)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for components in ("HTTPValidationError", "ValidationError"):  # replaced by Problem
            schema["components"]["schemas"].pop(components, None)
        content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        _text_rules(schema)
        for path, operations in schema.get("paths", {}).items():
            if path == "/healthz":
                continue
            for method, operation in operations.items():
                for parameter in operation.get("parameters", []):
                    parameter["schema"] = _not_null(parameter["schema"])
                statuses = _ANY + (_WRITE if method in ("post", "put") else ())
                statuses += _UPLOAD if "multipart/form-data" in str(operation.get("requestBody", "")) else ()
                for status in statuses:
                    operation["responses"][str(status)] = {"description": _TITLES[status], "content": content}
                if method in ("post", "put"):
                    headers = [IDEMPOTENCY_KEY_HEADER] + ([IF_MATCH_HEADER] if "{subject_id}" in path else [])
                    operation.setdefault("parameters", []).extend(headers)
        document.refine(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# What every text of a request body keeps to (schemas.Body: no NUL, which PostgreSQL cannot store;
# a stripped field with a minimum length: more than whitespace), as patterns. "Whitespace" is what
# pydantic strips (Unicode's White_Space), spelled out: ECMA's `\s`, which a client's validator
# reads, leaves out \x85 and takes in \ufeff, and Python's str.isspace() takes in \x1c-\x1f.
_STRIPPED = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])
_SPACES = "".join(
    f"\\u{code:04x}" for code in range(0x10000) if chr(code).isspace() and not _STRIPPED.validate_python(chr(code))
)
_NO_NUL = "^[^\\x00]*$"
_NOT_BLANK = f"^[^\\x00]*[^\\x00{_SPACES}][^\\x00]*$"


def _text_rules(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    todo = [
        body["content"][media]["schema"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if (body := operation.get("requestBody"))
        for media in body["content"]
    ]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if (ref := node.get("$ref")) and ref not in seen:
            seen.add(ref)
            todo.append(schemas[ref.rsplit("/", 1)[1]])
        if node.get("type") == "string" and not {"pattern", "enum", "format", "contentMediaType"} & node.keys():
            node["pattern"] = _NOT_BLANK if node.get("minLength", 0) >= 1 else _NO_NUL
        todo.extend(v for k, v in node.items() if k != "$ref")


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter left out is absent, never null (a query string cannot say null): pydantic's
    `X | None` becomes `X`, so a generated client types it `X`, optional."""
    variants = schema.get("anyOf")
    if not variants or {"type": "null"} not in variants or len(variants) != 2:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**next(v for v in variants if v != {"type": "null"}), **rest}


def install(app: FastAPI) -> None:
    _documented(app)

    @app.exception_handler(e.DomainError)
    async def _domain(_: Request, exc: e.DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthenticated) else None
        extra = dict(exc.extra)
        if isinstance(exc, e.Unavailable):
            headers = {"Retry-After": str(extra.get("retry_after", 1))}
        # The rules name the fields they refuse; they go out in the one `errors` shape that
        # request validation uses too, so a client reads every 422 the same way.
        if fields := extra.pop("fields", None):
            extra["errors"] = [{"loc": [str(f)], "msg": exc.detail, "type": exc.code} for f in fields]
        return problem(status_of(exc), exc.code, exc.detail, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return problem(422, "validation_error", "the request is not valid", errors=errors)

    @app.exception_handler(sa.exc.OperationalError)
    async def _database_down(_: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        # Nothing was committed; the client may retry (with its Idempotency-Key).
        logging.getLogger("aftersales.api").warning("database unavailable: %s", exc)
        return problem(503, "service_unavailable", "the database is unavailable; retry shortly", {"Retry-After": "1"})

    @app.exception_handler(StorageUnavailable)
    async def _storage_down(_: Request, exc: StorageUnavailable) -> JSONResponse:
        logging.getLogger("aftersales.api").warning("evidence storage unavailable: %s", exc)
        return problem(
            503, "storage_unavailable", "the evidence storage is unavailable; retry shortly", {"Retry-After": "1"}
        )

    @app.exception_handler(sa.exc.DataError)
    async def _unstorable(_: Request, exc: sa.exc.DataError) -> JSONResponse:
        # e.g. a NUL character PostgreSQL cannot store: the client's input, so 422, not 500.
        logging.getLogger("aftersales.api").info("value the database cannot store: %s", exc.orig)
        return problem(422, "validation_error", "the request contains a value that cannot be stored")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (e.g. an integer too long to parse): malformed input.
            return problem(422, "validation_error", str(exc.detail))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return problem(exc.status_code, code, str(exc.detail), headers)


def allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (RFC 9110 15.5.6). Starlette's own 405 names
    only the first route that matched the path, though `GET` and `POST` /v1/orders are two."""
    routes = request.app.router.routes
    return ", ".join(
        m for m in METHODS if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    )


METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
