"""Logging: structlog in front of the standard library, one renderer for every logger.

Our own lines (the request line, api/request_context.py) are structlog events; everything else
(uvicorn, SQLAlchemy, the deadline worker's `logging.getLogger`) is a stdlib record. Both go
through the root logger's one handler, whose formatter renders them alike: a JSON object a line
(`AFTERSALES_LOG_FORMAT=json`) or aligned text for a terminal (`console`). The request id bound
for a request (`bind_request_id`) is merged into every line logged while it runs, stdlib ones
included. The time stamp is the wall clock on purpose: it says when the line was written, not
business time (which may be simulated).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
import structlog.tracebacks

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _drop_color_message(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of its message, as an extra
    return event


def use_stdlib() -> None:
    """Send structlog events to the standard library's loggers (idempotent). Enough for tests:
    pytest's caplog then sees them as records whose `msg` is the event dict."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(fmt: str) -> logging.Formatter:
    """The formatter rendering structlog events and stdlib records alike as `fmt` (json|console)."""
    renderer: Any
    # Tracebacks without their frames' local variables: those may hold tokens, secrets or a
    # buyer's data, and rendering them costs enough CPU to slow every request of the process
    # while a loop logs a failure a few times a second (a database restart).
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        frames = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        tail: list[Any] = [structlog.processors.ExceptionRenderer(frames)]
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        tail = []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )


def configure(fmt: str, level: int = logging.INFO) -> None:
    """A process's logging: every logger through one stderr handler in `fmt`. Called once by
    the CLI and by each server process of `serve --workers N`."""
    use_stdlib()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # uvicorn's own loggers propagate to the root (its log_config is off, cli.py); its access
    # log is off too: the request line of api/request_context.py replaces it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def bind_request_id(request_id: str) -> None:
    """Bind the id to every line logged in this context (a request's task and the worker
    threads it hands work to) from now on."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def get(name: str) -> Any:
    use_stdlib()
    return structlog.get_logger(name)
