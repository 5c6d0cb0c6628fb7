"""A read replica (AFTERSALES_DATABASE_REPLICA_URL): its engine, read-only on every connection,
and the unit of work that reads from it, or from the primary while it does not answer.

Which reads may come from it is the adapters' choice (docs/design.md, "Read replicas"): lists,
queues, timelines and dashboards, where a few hundred milliseconds of lag are harmless; never an
action, its checks or an Idempotency-Key lookup.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from .database import create_engine
from .unit_of_work import UnitOfWork

log = logging.getLogger("aftersales.replica")

# After a failed connection the primary answers the replica's reads for this long before the
# replica is tried again: a replica that is down costs one failed connect per interval, not one
# per request (a host that drops packets would cost the connect timeout, seconds, each time).
RETRY_AFTER = 5.0  # seconds
# The replica's own pool: reads only, beside the primary's; PostgreSQL's max_connections is shared.
POOL_SIZE = 5
MAX_OVERFLOW = 10


def create_replica_engine(url: str) -> sa.Engine:
    """An engine whose every session is read-only: a write sent through it by mistake fails
    (SQLSTATE 25006) even when the URL names a server that would take it, such as the primary."""
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)

    @sa.event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = on")
        dbapi_conn.commit()

    return engine


class Replica:
    """The replica's engine and whether it answered lately. Shared by a process's threads."""

    def __init__(self, engine: sa.Engine, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._now = monotonic  # a duration between failures, not business time
        self._failed_at: float | None = None  # when a connection last failed; None: it answers
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True while the primary stands in (within RETRY_AFTER of a failed connection)."""
        failed = self._failed_at
        return failed is not None and self._now() - failed < RETRY_AFTER

    def unit_of_work(self, primary: sa.Engine) -> UnitOfWork:
        return ReplicaUnitOfWork(self, primary)

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._failed_at is None
            self._failed_at = self._now()
        if first:
            orig = getattr(exc, "orig", None) or exc
            log.warning("read replica unreachable; its reads go to the primary: %s: %s", type(orig).__name__, orig)

    def answered(self) -> None:
        if self._failed_at is None:
            return
        with self._lock:
            back, self._failed_at = self._failed_at is not None, None
        if back:
            log.warning("read replica reachable again; lists read from it")


class ReplicaUnitOfWork(UnitOfWork):
    """A read-only unit of work on the replica; on the primary when the replica is down or fails
    to connect (counted in aftersales_replica_fallbacks). `engine` tells which one answered."""

    def __init__(self, replica: Replica, primary: sa.Engine) -> None:
        super().__init__(primary if replica.down else replica.engine, read_only=True)
        self._replica, self._primary = replica, primary

    def __enter__(self) -> UnitOfWork:
        if self.engine is self._primary:
            _count_fallback()
            return super().__enter__()
        try:
            entered = super().__enter__()
        except sa.exc.OperationalError as exc:  # connecting failed: nothing was read yet
            self._replica.failed(exc)
            _count_fallback()
            if getattr(self, "conn", None) is not None:
                self.conn.close()
            self.engine = self._primary
            return super().__enter__()
        self._replica.answered()
        return entered


def _count_fallback() -> None:
    # Imported here, not at the top: prometheus_client picks per-process or shared (multiprocess)
    # counters when a metric is created, and `aftersales serve --workers N` sets the shared
    # directory only after the store is imported. An early import left the supervisor's deadline
    # counters out of every scrape.
    from .. import metrics

    metrics.REPLICA_FALLBACKS.inc()
