"""Request body caps, enforced as the bytes arrive and before anything parses them.

A pure ASGI middleware (no BaseHTTPMiddleware, which would buffer and wrap the body): a declared
`Content-Length` above the cap is refused at once, unread; a chunked body is counted as it
streams and refused the moment it passes the cap. The refusal closes the connection, so the
server stops reading the rest of a hostile body instead of draining it.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem

# Room for the multipart envelope around an evidence file: boundaries, part headers (the file
# name among them), the `kind` field. The file itself is capped exactly by services/evidence.py.
MULTIPART_ALLOWANCE = 16 * 1024
EVIDENCE_UPLOAD = ("POST", "/v1/evidence")


def cap_of(scope: Scope) -> tuple[int, str, int]:
    """(bytes the body may hold, problem code, the limit the client is told) for this request."""
    settings = scope["app"].state.runtime.settings
    if (scope["method"], scope["path"].rstrip("/")) == EVIDENCE_UPLOAD:
        return settings.evidence_max_bytes + MULTIPART_ALLOWANCE, "file_too_large", settings.evidence_max_bytes
    if _console_upload(scope):
        # A console form with photos may carry, all its files together, what one upload may
        # (each file is capped again by services/evidence.py).
        cap = max(settings.max_body_bytes, settings.evidence_max_bytes + MULTIPART_ALLOWANCE)
        return cap, "body_too_large", cap
    return settings.max_body_bytes, "body_too_large", settings.max_body_bytes


def _console_upload(scope: Scope) -> bool:
    if scope["method"] != "POST" or not scope["path"].startswith("/console/"):
        return False
    return any(
        name == b"content-type" and value.lower().startswith(b"multipart/form-data") for name, value in scope["headers"]
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses a malformed length before we are called
    return None


class _Refused(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, code, told = cap_of(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > cap:
            await _refuse(scope, send, told, code)
            return

        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    if started:  # cannot answer any more: cut the connection short instead
                        raise _Refused
                    await _refuse(scope, send, told, code)
                    # What the app sees next is a client gone away; it answers nothing more.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app says after it is dropped
            started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app failed on the body it was refused (a disconnect in the middle of parsing):
            # the client has its 413 already, so there is nothing left to report.


async def _refuse(scope: Scope, send: Send, max_bytes: int, code: str) -> None:
    what = "file" if code == "file_too_large" else "request body"
    detail = f"the {what} exceeds {max_bytes} bytes"
    response = problem(413, code, detail, {"Connection": "close"}, max_bytes=max_bytes)

    async def no_body() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
