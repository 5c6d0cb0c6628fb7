"""Which database a console page reads: lists, queues and dashboards the read replica (when there
is one, runtime.replica_uow), except on the page right after the viewer's own action.

Every console form answers with a redirect carrying a notice (flash.py) of what came of it; the
page that shows that notice must show the change too (read-your-writes), so it reads the primary.
Any other list page may trail the primary by the replica's lag, which nothing decides on: every
action checks its subject again on the primary, at the version the page showed. A single
subject's page (a case, a dispute's workspace) always reads the primary, through runtime.uow.
"""

from __future__ import annotations

from fastapi import Request

from ..store.unit_of_work import UnitOfWork
from . import flash
from .session import runtime_of


def list_uow(request: Request) -> UnitOfWork:
    """The read-only unit of work of a list or dashboard page."""
    runtime = runtime_of(request)
    if flash.waiting(request) is not None:
        return runtime.uow(read_only=True)
    return runtime.replica_uow()
