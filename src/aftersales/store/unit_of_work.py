"""One transaction per use case: commit once at the end, roll back whatever was not committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from ..domain.cases import Case
from ..domain.orders import Order
from . import tables as t
from .repositories import Deadlines, Events, Repo


class UnitOfWork:
    def __init__(self, engine: sa.Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.read_only = read_only

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        if self.read_only and self.dialect == "sqlite":
            # A plain BEGIN (store/database.py): a health check or a scrape reads a snapshot
            # instead of queueing behind the writers for the write lock.
            self.conn = self.conn.execution_options(read_only=True)
        elif self.read_only:
            # On PostgreSQL no transaction at all: the BEGIN and ROLLBACK round trips go (and a
            # ROLLBACK would empty psycopg's cache of prepared statements). Nothing is lost: under
            # READ COMMITTED each statement of a transaction reads its own snapshot anyway.
            self.conn = self.conn.execution_options(isolation_level="AUTOCOMMIT")
        self._tx = self.conn.begin()
        self.orders = Repo(self.conn, t.orders, Order)
        self.cases = Repo(self.conn, t.after_sales, Case)
        self.deadlines = Deadlines(self.conn)
        self.events = Events(self.conn)
        self._committed: list[Callable[[], None]] = []
        self._aborted: list[Callable[[], None]] = []
        return self

    def on_outcome(self, committed: Callable[[], None], aborted: Callable[[], None]) -> None:
        """What to do outside the database once the transaction ends: `committed` after a commit,
        `aborted` when it rolls back (a stored file moved into place, or removed)."""
        self._committed.append(committed)
        self._aborted.append(aborted)

    def execute(self, statement: Any, *args: Any) -> sa.CursorResult[Any]:
        return self.conn.execute(statement, *args)

    def commit(self) -> None:
        self._tx.commit()
        done, self._committed, self._aborted = self._committed, [], []
        for step in done:
            step()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()
        self.conn.close()
        undone, self._aborted, self._committed = self._aborted, [], []
        for step in undone:
            step()
