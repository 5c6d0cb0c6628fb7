"""Signing in and out. In demo mode a page lists every demo buyer, shop and agent to pick from;
otherwise the marketplace posts the person's signed token (the API's JWT) to /console/sign-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...api import auth
from ...domain.errors import Unauthenticated
from ...services import console_sessions, parties
from ...services.context import Actor
from ..render import page
from ..session import (
    COOKIE,
    PATH,
    Viewer,
    check_csrf,
    drop_session,
    keep_session,
    runtime_of,
    safe_next,
    signed_in,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)

# Where each role starts.
HOME = {
    "buyer": "/console/orders",
    "merchant": "/console/after-sales",
    "agent": "/console/disputes",
    "admin": "/console/disputes",
}


@router.get("/")
def home(found: Annotated[Viewer, Depends(signed_in)]) -> Response:
    return RedirectResponse(HOME.get(found.role, "/console/after-sales"), status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    runtime = runtime_of(request)
    people = None
    if runtime.settings.demo:
        with runtime.uow(read_only=True) as uow:
            people = parties.directory(uow)
    return page(request, "console/sign_in.html", viewer(request), people=people, next=safe_next(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    who: Annotated[str | None, Form(max_length=200)] = None,
    token: Annotated[str | None, Form(max_length=8000)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    runtime = runtime_of(request)
    try:
        if runtime.settings.demo and who:
            with runtime.uow(read_only=True) as uow:
                actor = _demo_actor(who, parties.directory(uow))
        else:
            actor = _token_actor(request, token)
    except Unauthenticated:
        return page(request, "console/sign_in.html", None, status=401, people=None, next=safe_next(next), failed=True)
    now = runtime.session_clock.now()
    with runtime.uow() as uow:
        # A fresh token every time, and the browser's previous session ends: a token planted in
        # the cookie before sign-in (fixation) never becomes a signed-in session.
        console_sessions.end(uow, request.cookies.get(COOKIE))
        token_value, session = console_sessions.start(uow, actor, now)
        uow.commit()
    response = RedirectResponse(safe_next(next) if next else PATH + "/", status_code=303)
    keep_session(response, request, token_value, session.expires_at, now)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, found: Annotated[Viewer, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(found, {"csrf": csrf})
    runtime = runtime_of(request)
    with runtime.uow() as uow:
        console_sessions.end(uow, request.cookies.get(COOKIE))
        uow.commit()
    response = RedirectResponse(PATH + "/sign-in", status_code=303)
    drop_session(response, request)
    return response


def _demo_actor(who: str, people: parties.Directory) -> Actor:
    """`buyer:b-1`, `merchant:m-1` (its staff) or `agent:agent-1`: someone the demo page lists."""
    role, _, ident = who.partition(":")
    if ident not in dict(people.get(role, ())):
        raise Unauthenticated("pick someone from the list")
    if role == "merchant":
        return Actor("merchant", f"{ident}-staff", ident)
    return Actor(role, ident)


def _token_actor(request: Request, token: str | None) -> Actor:
    if not token or not token.strip():
        raise Unauthenticated("no token")
    actor = auth.verifier(request.app.state).actor(token.strip())
    if actor.role not in HOME:
        # The console is for people: the marketplace's own machine credential (the order feed)
        # signs in to no page, though the API takes it.
        raise Unauthenticated("not a person's token")
    return actor
