"""The console under /console/: each role's pages, one module per area, on the service layer."""

from __future__ import annotations

import inspect

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from ...domain import errors as e
from .. import assets
from ..render import page
from ..session import CsrfRefused, SignInNeeded, same_site_forms, sign_in_url, viewer
from . import agent, buyer, cases, demo, disputes, merchant, reports, signin

ROUTERS = (
    assets.router,
    signin.router,
    cases.router,
    buyer.router,
    merchant.router,
    disputes.router,
    agent.router,
    reports.router,
    demo.router,
)


def install(app: FastAPI) -> None:
    """The console's routes, and its errors as pages (the API's stay problem+json)."""
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(same_site_forms)])

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(sign_in_url(exc.next_url), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return page(request, "console/error.html", viewer(request), status=403, code="csrf")

    api_handler = app.exception_handlers[e.DomainError]

    async def _domain(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console"):
            answered = api_handler(request, exc)
            return await answered if inspect.isawaitable(answered) else answered
        status = 404 if isinstance(exc, e.NotFound) else 403 if isinstance(exc, e.Forbidden) else 400
        code = "not_found" if status == 404 else "forbidden" if status == 403 else "invalid"
        return page(request, "console/error.html", viewer(request), status=status, code=code)

    app.add_exception_handler(e.DomainError, _domain)
