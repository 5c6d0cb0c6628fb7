"""What GET /healthz reports: whether the database answers, and each background loop's last
heartbeat (services/heartbeats.py) with its age on the injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store.unit_of_work import UnitOfWork
from . import heartbeats

PROBE_TIMEOUT = timedelta(seconds=2)  # the SELECT 1's statement timeout on PostgreSQL
# A deadline worker beats every few seconds (worker/engine.py BEAT_EVERY) and holds a batch at
# most its lease (30 s by default): a minute without a beat means it is gone or stuck.
STALE_AFTER = timedelta(seconds=60)
LOOPS = ("deadline_worker", "relay")  # the roles /healthz reports, beaten or not


def probe(engine: sa.Engine) -> str | None:
    """None if the database answers a SELECT 1 within PROBE_TIMEOUT, else what went wrong.
    (Connecting is bounded by the engine's connect timeout, store/database.py.)"""
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            if uow.dialect == "postgresql":
                ms = str(int(PROBE_TIMEOUT.total_seconds() * 1000))
                uow.execute(sa.text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})
            uow.execute(sa.text("SELECT 1")).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''}"
    return None


def loops(uow: UnitOfWork, now: datetime) -> dict[str, dict[str, Any]]:
    """Per role: the latest beat of any of its processes, its age, and whether that is recent."""
    latest = heartbeats.latest(uow)
    report: dict[str, dict[str, Any]] = {}
    for role in sorted({*LOOPS, *latest}):
        at = latest.get(role)
        age = None if at is None else (now - at).total_seconds()
        report[role] = {
            "last_beat": None if at is None else at.isoformat(),
            "age_seconds": age,
            "ok": age is not None and age < STALE_AFTER.total_seconds(),
        }
    return report
