"""Console pages. For now: the landing page linking to the API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> str:
    runtime = request.app.state.runtime
    return templates.get_template("landing.html").render(
        demo=runtime.settings.demo, simulated=runtime.sim_clock is not None
    )
