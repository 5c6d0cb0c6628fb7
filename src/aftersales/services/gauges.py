"""Database-wide figures for GET /metrics, read at scrape time: the same answer from every
process, whichever process (or host) did the work.

Ages are measured on the injected clock (`now`), like the deadlines they describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from . import heartbeats


@dataclass(frozen=True)
class Figures:
    deadlines_due: int  # due_at <= now, not yet fired
    deadlines_overdue_seconds: float  # now - the oldest due_at among them (0 when none)
    # Deadlines fired by every deadline worker process, as each last reported in its heartbeat.
    workers_fired: int
    outbox_backlog: int  # messages not yet fanned out (delivered_at IS NULL)
    outbox_oldest_age_seconds: float  # now - the oldest of them's created_at (0 when none)
    webhook_deliveries: dict[str, int]  # by status: pending, succeeded, dead, ...
    refunds_pending: int
    refunds_late: int  # flagged late (not confirmed within the policy's working days) and not yet paid
    refunds_failed: int  # given up by the payments loop: waiting for an agent's retry
    heartbeat_ages: dict[str, float] = field(default_factory=dict)  # by role: now - its latest beat


def read(uow: UnitOfWork, now: datetime) -> Figures:
    d, o, w, r = t.deadlines.c, t.outbox.c, t.webhook_deliveries.c, t.refunds.c
    due: Any = uow.execute(sa.select(sa.func.count(), sa.func.min(d.due_at)).where(d.due_at <= now)).one()
    # One row per worker process that ever ran, not per firing: cheap at any history's size
    # (counting the events that carry a deadline_id would read an index as large as the history).
    h = t.heartbeats.c
    details = uow.execute(sa.select(h.detail).where(h.role == "deadline_worker")).scalars()
    workers_fired = sum(int(detail.get("fired", 0)) for detail in details)
    backlog: Any = uow.execute(
        sa.select(sa.func.count(), sa.func.min(o.created_at)).where(o.delivered_at.is_(None))
    ).one()
    by_status: Any = uow.execute(sa.select(w.status, sa.func.count()).group_by(w.status)).all()
    deliveries: dict[str, int] = dict(by_status)
    refunds: Any = uow.execute(
        sa.select(
            sa.func.count().filter(r.status == "pending"),
            sa.func.count().filter(r.status != "succeeded", r.late.is_(True)),
            sa.func.count().filter(r.status == "failed"),
        )
    ).one()
    beats = heartbeats.latest(uow)
    return Figures(
        deadlines_due=due[0],
        deadlines_overdue_seconds=_age(now, due[1]),
        workers_fired=workers_fired,
        outbox_backlog=backlog[0],
        outbox_oldest_age_seconds=_age(now, backlog[1]),
        webhook_deliveries=deliveries,
        refunds_pending=refunds[0],
        refunds_late=refunds[1],
        refunds_failed=refunds[2],
        heartbeat_ages={role: _age(now, at) for role, at in beats.items()},
    )


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
