"""The console's own script and stylesheet, from the package: a fixed list, so no request can
name another file on the disk, and nothing is fetched from another origin."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..domain.errors import NotFound

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}

router = APIRouter(include_in_schema=False)


@router.get("/console/static/{name}")
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("no such file")
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})
