"""The simulated clock, kept in the database so API processes and workers share one time."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..domain.clock import Clock
from . import tables as t


class DatabaseClock:
    """Reads the simulated time on every call; moves only through `advance`."""

    def __init__(self, engine: sa.Engine, start: Clock) -> None:
        self.engine = engine
        self._start = start

    def now(self) -> datetime:
        # Read-only on purpose: it is called inside other transactions (a write here would
        # wait for SQLite's lock held by the caller). `initialise` pins the start at start-up.
        with self.engine.connect().execution_options(read_only=True) as conn:
            value = conn.execute(sa.select(t.sim_clock.c.now).where(t.sim_clock.c.id == 1)).scalar()
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
