"""A one-time notice shown on the next page after a form was handled ("已同意", or what was wrong).

Kept in a cookie only the server sets (HttpOnly, scoped to the console), never in the URL: a
link someone sends cannot make our pages show their text."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.responses import Response

COOKIE = "aftersales_flash"
PATH = "/console"


def put(response: Response, request: Request, text: str, *, ok: bool = True) -> None:
    value = json.dumps({"ok": ok, "text": text[:300]}, ensure_ascii=True)
    response.set_cookie(
        COOKIE, value, max_age=60, path=PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def waiting(request: Request) -> dict[str, Any] | None:
    """The notice waiting for this page, or None (`clear` it on the page's response)."""
    raw = request.cookies.get(COOKIE)
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("text"), str):
        return None
    return {"ok": bool(found.get("ok")), "text": found["text"]}


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax")
