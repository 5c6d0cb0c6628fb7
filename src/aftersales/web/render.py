"""Rendering console pages: one Jinja environment per language, with its catalogue installed,
and the helpers every template uses (labels, money, times, countdowns, the CSRF field)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..domain import labels
from . import flash, i18n
from .session import Viewer, keep_language, language

TEMPLATES = Path(__file__).parent / "templates"
TIME_STEPS = (1, 24, 48, 168)  # the demo's time controls (web/pages/demo.py), in hours


def next_page(filters: Mapping[str, Any], cursor: str | None) -> str | None:
    """The query (`?...`) of a list's next page, keeping the filters that are set; None on the last page."""
    if not cursor:
        return None
    return "?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": cursor})


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,  # a misspelt name is an error in the tests, not a blank on a page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(labels=labels, languages=i18n.NAMES)
    return env


def page(request: Request, template: str, viewer: Viewer | None, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` for `viewer` (None on the sign-in page), in the viewer's language."""
    lang = viewer.lang if viewer else language(request)
    formats = viewer.formats if viewer else i18n.Formats(lang, i18n.timezone(None))
    notice = flash.waiting(request)
    html = (
        environment(lang)
        .get_template(template)
        .render(
            request=request,
            viewer=viewer,
            lang=lang,
            f=formats,
            label=formats.label,
            now=viewer.now if viewer else None,
            demo=request.app.state.runtime.settings.demo,
            simulated=request.app.state.runtime.sim_clock is not None,
            time_steps=TIME_STEPS,
            notice=notice,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    keep_language(response, request)
    if notice is not None:
        flash.clear(response)
    return response
