"""The simulated clock, kept in the database so API processes and workers share one time."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..domain.clock import Clock
from . import tables as t

# The connections with a transaction open in this thread or task, innermost last. The clock reads
# on the caller's own connection: taking a second pooled one while the caller holds the first
# ran the pool dry under a burst (every request holding one, each waiting for another).
_open: ContextVar[tuple[sa.Connection, ...]] = ContextVar("aftersales_open_transactions", default=())


def _began(conn: sa.Connection) -> None:
    # (A connection invalidated mid-transaction may end without a rollback event: drop it here.)
    _open.set((*(c for c in _open.get() if not c.closed), conn))


def _ended(conn: sa.Connection) -> None:
    stack = _open.get()
    if conn in stack:
        i = len(stack) - 1 - stack[::-1].index(conn)
        _open.set(stack[:i] + stack[i + 1 :])


def _track(engine: sa.Engine) -> None:
    """Keep `_open` for `engine`'s connections (once per engine, however many clocks it serves)."""
    if not sa.event.contains(engine, "begin", _began):
        sa.event.listen(engine, "begin", _began)
        sa.event.listen(engine, "commit", _ended)
        sa.event.listen(engine, "rollback", _ended)


class DatabaseClock:
    """Reads the simulated time on every call; moves only through `advance`.

    Read on every call, not cached: another process (a `serve --workers N` sibling, an
    `aftersales worker`) may have advanced it, and must be seen before acting on the new time."""

    def __init__(self, engine: sa.Engine, start: Clock) -> None:
        self.engine = engine
        self._start = start
        _track(engine)

    def now(self) -> datetime:
        query = sa.select(t.sim_clock.c.now).where(t.sim_clock.c.id == 1)
        caller = next((c for c in reversed(_open.get()) if c.engine.pool is self.engine.pool and not c.closed), None)
        if caller is not None:
            # In the caller's transaction: no second connection, and on SQLite (which holds its
            # write lock from BEGIN) no advance can commit in between.
            value = caller.execute(query).scalar()
        else:
            # Read-only on purpose: a write here would wait for SQLite's lock held by another
            # writer. `initialise` pins the start at start-up.
            with self.engine.connect().execution_options(read_only=True) as conn:
                value = conn.execute(query).scalar()
        return value if value is not None else self._start.now()

    def initialise(self) -> datetime:
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(t.sim_clock.c.now).where(t.sim_clock.c.id == 1)).scalar()
            if existing is not None:
                return existing
            start = self._start.now()
            conn.execute(t.sim_clock.insert().values(id=1, now=start))
            return start

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self.initialise()
        with self.engine.begin() as conn:
            current = conn.execute(
                sa.select(t.sim_clock.c.now).where(t.sim_clock.c.id == 1).with_for_update()
            ).scalar_one()
            conn.execute(t.sim_clock.update().where(t.sim_clock.c.id == 1).values(now=current + delta))
        return current + delta
