"""The ASGI application: API routes, problem responses, the landing page and console."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from ..runtime import Runtime
from ..web import pages as console
from ..web import routes as web
from ..web.security_headers import HtmlSecurityHeaders
from . import auth, docs_pages, document, problems
from .limits import BodyLimit
from .rate_limits import RateLimit
from .request_context import RequestContext
from .routes import (
    agents,
    case_files,
    cases,
    complaints,
    disputes,
    evidence,
    messages,
    meta,
    money,
    orders,
    parties,
    payments,
    reviews,
    webhooks,
)

DESCRIPTION = """After-sales and dispute resolution for marketplaces: orders, refund/return/exchange
requests, deadlines that fire by themselves, platform intervention, refunds and sanctions.

Authenticate with a bearer JWT (*Authorize*; `aftersales token` mints one). Errors are
`application/problem+json` with a stable `code`; a 422 lists what is wrong in `errors`. Every
POST honours `Idempotency-Key`; case actions honour `If-Match` with the `version` returned in `ETag`.
"""


def create_app(runtime: Runtime | None) -> FastAPI:
    """The app answering from `runtime` (None only to read its routes and OpenAPI document)."""
    # FastAPI's /docs and /redoc load their scripts from a CDN; docs_pages serves them from here.
    app = FastAPI(
        title="aftersales",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=document.operation_id,
    )
    app.state.runtime = runtime
    if runtime is not None:
        auth.verifier(app.state)  # one cache of the IdP's keys, before requests race to build it
    problems.install(app)
    console.install(app)
    for module in (
        meta,
        orders,
        cases,
        case_files,
        messages,
        disputes,
        complaints,
        reviews,
        money,
        payments,
        evidence,
        agents,
        parties,
        webhooks,
    ):
        app.include_router(module.router)
    app.include_router(disputes.appeals_router)
    app.include_router(disputes.arbitration_router)
    app.include_router(web.router)
    app.include_router(docs_pages.router)
    # Outermost last: a request over its rate is refused before its body is read at all.
    app.add_middleware(BodyLimit)
    app.add_middleware(RateLimit)
    app.add_middleware(HtmlSecurityHeaders)
    # Outermost of all, outside even Starlette's own error middleware: every response, a 429, a
    # 413 or an unexpected 500 included, carries its X-Request-Id and gets its log line.
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: RequestContext(build())  # type: ignore[method-assign]
    return app


def from_env() -> FastAPI:
    """The app with a runtime built from AFTERSALES_* (each process of `aftersales serve --workers N`)."""
    from .. import logs
    from ..config import Settings

    settings = Settings.from_env()
    logs.configure(settings.log_format)
    return create_app(Runtime.build(settings))
