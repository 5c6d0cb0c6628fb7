"""Who is looking at a console page: the session cookie, the CSRF check, language and timezone.

The session cookie is HttpOnly, SameSite=Lax, scoped to /console and Secure when the request came
over HTTPS. Every form carries the session's CSRF token; a POST without it changes nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from starlette.responses import Response

from ..runtime import Runtime
from ..services import console_sessions
from ..services.context import Actor
from . import i18n

COOKIE = "aftersales_session"
LANG_COOKIE = "aftersales_lang"
TZ_COOKIE = "aftersales_tz"
PATH = "/console"


class SignInNeeded(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRefused(Exception):
    """A form came without its session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    csrf: str
    formats: i18n.Formats
    now: datetime
    name: str  # what the page calls them: the buyer's, the shop's or the agent's name

    @property
    def lang(self) -> str:
        return self.formats.lang

    @property
    def role(self) -> str:
        return self.actor.role


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def language(request: Request) -> str:
    """?lang= wins (and is kept by the page's response), then the cookie, then Chinese."""
    return i18n.language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def viewer(request: Request) -> Viewer | None:
    """The signed-in viewer of this request, or None."""
    if hasattr(request.state, "viewer"):
        found: Viewer | None = request.state.viewer
        return found
    runtime = runtime_of(request)
    now = runtime.env.clock.now()
    with runtime.uow(read_only=True) as uow:
        # The session with the person's name and the shop's timezone in one read: staff read
        # times in their shop's zone.
        session = console_sessions.resume(uow, request.cookies.get(COOKIE), runtime.session_clock.now())
    found = None
    if session is not None:
        zone = session.shop_zone or request.cookies.get(TZ_COOKIE)
        formats = i18n.Formats(language(request), i18n.timezone(zone))
        found = Viewer(session.actor, session.csrf, formats, now, session.name or session.actor.id)
        request.state.actor = session.actor  # for the request's log line
    request.state.viewer = found
    return found


def signed_in(request: Request) -> Viewer:
    """The page's dependency: the viewer, or a redirect to sign in and come back."""
    found = viewer(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target)
    return found


def check_csrf(found: Viewer, form: Any) -> None:
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), found.csrf.encode()):
        raise CsrfRefused()


def cross_site(request: Request) -> bool:
    """A request a page of another site made the browser send (defence in depth beside the CSRF
    token): the browser's Sec-Fetch-Site, or for a browser without it, an Origin that is not ours.
    A client that sends neither (not a browser, or an old one) is left to the CSRF token."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host")


def same_site_forms(request: Request) -> None:
    """Every console router's dependency: a form posted from another site is refused (403) before
    anything reads it. Sign-in is the exception the marketplace needs: it posts a person's token
    from its own site (a demo pick, though, comes from our page only)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not cross_site(request):
        return
    if request.url.path == PATH + "/sign-in" and not runtime_of(request).settings.demo:
        return
    raise CsrfRefused()


def safe_next(target: str | None) -> str:
    """Only a path inside the console is a place to go back to (no open redirect). Browsers
    resolve dot segments (`/console/../v1`, `%2e%2e` too) and drop tabs and newlines before they
    follow a Location, so a target holding any of those, or a backslash, goes home instead."""
    if not target or not target.startswith(PATH + "/") or len(target) > 2000:
        return PATH + "/"
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    if "\\" in target or any(c < " " or c == "\x7f" for c in target) or "\\" in path:
        return PATH + "/"
    if any(segment in (".", "..") for segment in path.split("/")):
        return PATH + "/"
    return target


def sign_in_url(next_url: str) -> str:
    return f"{PATH}/sign-in?next={quote(next_url, safe='/')}"


def keep_session(response: Response, request: Request, token: str, expires_at: datetime, now: datetime) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int((expires_at - now).total_seconds()),
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def drop_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https")


def keep_language(response: Response, request: Request) -> None:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, asked, max_age=365 * 86400, path="/", samesite="lax", secure=request.url.scheme == "https"
        )
