"""/docs (Swagger UI) and /redoc, served whole from this machine.

FastAPI's own pages fetch their scripts from a CDN (blank offline, slow or blocked in mainland
China) and start them with an inline script (refused by a `script-src 'self'` policy). Here the
assets come from the fastapi-offline wheel, the start-up is a static file of ours, and the pages
name only same-origin URLs."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from ..domain.errors import NotFound

ASSETS_PATH = "/docs/assets"
_VENDOR = Path(fastapi_offline.__file__).parent / "static"
_OURS = Path(__file__).resolve().parents[1] / "web" / "static"
_JS, _CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
# name -> (file, media type): a fixed list, so no request can name another file on the disk.
ASSETS = {
    "swagger-ui-bundle.js": (_VENDOR / "swagger-ui-bundle.js", _JS),
    "swagger-ui.css": (_VENDOR / "swagger-ui.css", _CSS),
    "redoc.standalone.js": (_VENDOR / "redoc.standalone.js", _JS),
    "favicon.png": (_VENDOR / "favicon.png", "image/png"),
    "swagger-init.js": (_OURS / "swagger-init.js", _JS),
}

router = APIRouter(include_in_schema=False)

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aftersales API: {title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
"""

SWAGGER_HTML = (
    _HEAD.format(title="Swagger UI", assets=ASSETS_PATH)
    + f"""<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/swagger-init.js"></script>
</body>
</html>
"""
)

# ReDoc's standalone bundle renders every <redoc spec-url> element by itself: no start-up script.
REDOC_HTML = (
    _HEAD.format(title="ReDoc", assets=ASSETS_PATH)
    + f"""</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="{ASSETS_PATH}/redoc.standalone.js"></script>
</body>
</html>
"""
)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(SWAGGER_HTML)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC_HTML)


@router.get(ASSETS_PATH + "/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"no docs asset {name!r}")
    path, media_type = ASSETS[name]
    return FileResponse(path, media_type=media_type)
