"""What GET /healthz reports: whether the database (and its read replica, if any) answers, and
each background loop's last heartbeat (services/heartbeats.py) with its age on the injected clock."""

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
            _bounded(uow)
            uow.execute(sa.text("SELECT 1")).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        return _failure(exc)
    return None


# Lag as seen by the replica: none while it has replayed all it received (an idle primary sends
# nothing, and the last replayed commit's age would grow without any lag), else the age of the
# last commit it replayed. `streaming`: its WAL receiver is connected to the primary (NULL for a
# role without pg_read_all_stats); a replica cut off from its primary has nothing left to replay
# and shows no lag, so that is what tells it is falling behind.
REPLICA_LAG = sa.text(
    """
    SELECT CASE
             WHEN NOT pg_is_in_recovery() THEN 0
             WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
             ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
           END AS lag_seconds,
           pg_is_in_recovery() AS in_recovery,
           (SELECT status = 'streaming' FROM pg_stat_wal_receiver) AS streaming
    """
)


def replica(engine: sa.Engine) -> dict[str, Any]:
    """The read replica as /healthz shows it: `ok` with its lag in seconds (None: it has replayed
    nothing yet), or `error` and why it does not answer."""
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            _bounded(uow)
            row = uow.execute(REPLICA_LAG).one()
    except sa.exc.SQLAlchemyError as exc:
        return {"status": "error", "error": _failure(exc)}
    lag = None if row.lag_seconds is None else round(float(row.lag_seconds), 3)
    return {"status": "ok", "lag_seconds": lag, "in_recovery": row.in_recovery, "streaming": row.streaming}


def _bounded(uow: UnitOfWork) -> None:
    if uow.dialect == "postgresql":
        ms = str(int(PROBE_TIMEOUT.total_seconds() * 1000))
        uow.execute(sa.text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})


def _failure(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''}"


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
