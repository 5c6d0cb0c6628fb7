"""Each background loop's last sign of life (deadline workers, relays), for /healthz and /metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..store import tables as t
from ..store.unit_of_work import UnitOfWork


def beat(uow: UnitOfWork, *, role: str, name: str, at: datetime, detail: dict[str, Any] | None = None) -> None:
    """Record that `name` (one process's loop of `role`) is alive at `at`."""
    h = t.heartbeats.c
    values = {"role": role, "at": at, "detail": detail or {}}
    if uow.conn.execute(t.heartbeats.update().where(h.name == name).values(**values)).rowcount == 0:
        uow.conn.execute(t.heartbeats.insert().values(name=name, **values))


def latest(uow: UnitOfWork) -> dict[str, datetime]:
    """The most recent heartbeat of each role."""
    h = t.heartbeats.c
    rows: Any = uow.conn.execute(sa.select(h.role, sa.func.max(h.at)).group_by(h.role)).all()
    return dict(rows)
