"""The deadline engine: at-least-once delivery, exactly-once effect.

Claiming marks a batch of due rows with this worker's id and a lease; on PostgreSQL the
candidates are taken `FOR UPDATE SKIP LOCKED` so any number of workers share the queue.
A killed worker's claims expire with their lease and are taken over. Firing re-checks
everything in its own transaction: the deadline row must still exist (a party's action
deletes it), the subject's version must match the one it was armed at, and deleting the
row, the state change and the event (unique on deadline_id) commit together or not at all.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from ..domain.clock import Clock, SystemClock
from ..domain.errors import DomainError
from ..services import cases, complaints, idempotency, orders, rulings
from ..services.context import SYSTEM, Env
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork

log = logging.getLogger("aftersales.worker")
d = t.deadlines.c


def _fire_case(uow: UnitOfWork, env: Env, row: Any) -> None:
    if row.action == "ruling_overdue":
        cases.ruling_overdue(uow, env, row.subject_id, deadline_id=row.id)
    else:
        cases.act(uow, env, SYSTEM, row.subject_id, row.action, deadline_id=row.id)


def _fire_order(uow: UnitOfWork, env: Env, row: Any) -> None:
    orders.act(uow, env, SYSTEM, row.subject_id, row.action, deadline_id=row.id)


def _fire_dispute(uow: UnitOfWork, env: Env, row: Any) -> None:
    rulings.finalize(uow, env, row.subject_id, deadline_id=row.id)


def _fire_complaint(uow: UnitOfWork, env: Env, row: Any) -> None:
    if row.action == "review_overdue":
        complaints.review_overdue(uow, env, row.subject_id, deadline_id=row.id)
    else:
        complaints.act(uow, env, SYSTEM, row.subject_id, row.action, {}, deadline_id=row.id)


FIRE: dict[str, Callable[[UnitOfWork, Env, Any], None]] = {
    "after_sale": _fire_case, "order": _fire_order, "dispute": _fire_dispute, "complaint": _fire_complaint,
}
_VERSIONED = {"after_sale": t.after_sales, "order": t.orders, "dispute": t.disputes, "complaint": t.complaints}


@dataclass
class Stats:
    claimed: int = 0
    fired: int = 0
    skipped: int = 0
    failed: int = 0


class DeadlineEngine:
    def __init__(
        self,
        engine: sa.Engine,
        env: Env,
        worker_id: str,
        *,
        batch_size: int = 100,
        lease: timedelta = timedelta(seconds=30),
        lease_clock: Clock | None = None,
    ) -> None:
        self.engine, self.env, self.worker_id = engine, env, worker_id
        self.batch_size, self.lease = batch_size, lease
        # Leases guard against dead processes, so they run on real time even when the
        # business clock is simulated.
        self.lease_clock = lease_clock or SystemClock()
        self.stats = Stats()
        self._last_purge: datetime | None = None

    def claim(self) -> list[Any]:
        """Claim up to batch_size due deadlines, oldest first."""
        now, lease_now = self.env.clock.now(), self.lease_clock.now()
        candidates = (
            sa.select(d.id)
            .where(d.due_at <= now, sa.or_(d.lease_until.is_(None), d.lease_until < lease_now))
            .order_by(d.due_at, d.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("candidates")
        )
        stmt = (
            t.deadlines.update()
            .where(d.id.in_(sa.select(candidates.c.id)))
            .values(claimed_by=self.worker_id, lease_until=lease_now + self.lease)
            .returning(d.id, d.subject_kind, d.subject_id, d.action, d.due_at, d.armed_version)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        rows.sort(key=lambda r: (r.due_at, r.id))
        self.stats.claimed += len(rows)
        return rows

    def fire(self, row: Any) -> bool:
        """Apply one claimed deadline; True if this call produced its effect."""
        return self.fire_batch([row]) == 1

    def fire_batch(self, rows: list[Any]) -> int:
        """Apply claimed deadlines in one transaction, each in a savepoint of its own: one commit
        (one fsync) per batch, and one failing item never stops the others."""
        fired = 0
        try:
            with UnitOfWork(self.engine) as uow:
                for row in rows:
                    try:
                        with uow.conn.begin_nested():
                            fired += self._fire_one(uow, row)
                    except (DomainError, sa.exc.IntegrityError) as exc:
                        # Lost a race (version conflict, event already written): the other effect stands.
                        log.info("deadline %s not fired: %s", row.id, exc)
                        self.stats.skipped += 1
                uow.commit()
        except sa.exc.SQLAlchemyError:
            log.exception("deadline batch failed; its rows are retried after their lease")
            self.stats.failed += len(rows)
            return 0
        self.stats.fired += fired
        return fired

    def _fire_one(self, uow: UnitOfWork, row: Any) -> bool:
        # Consume first, in one statement that also checks the claim is still ours: on
        # PostgreSQL its row lock makes a concurrent second firing wait, then find nothing.
        if not uow.deadlines.consume(row.id, self.worker_id):
            self.stats.skipped += 1  # a party acted first, or our lease was taken over
            return False
        if self._subject_version(uow, row) != row.armed_version:
            self.stats.skipped += 1  # stale: the subject moved on without disarming
            return False
        FIRE[row.subject_kind](uow, self.env, row)
        return True

    def _subject_version(self, uow: UnitOfWork, row: Any) -> int | None:
        table = _VERSIONED[row.subject_kind]
        return uow.execute(sa.select(table.c.version).where(table.c.id == row.subject_id)).scalar()

    def run_once(self) -> int:
        """Claim one batch and fire it; the number fired."""
        return self.fire_batch(self.claim())

    def run_until_idle(self, max_wait: float = 10.0) -> int:
        """Fire everything due now, including what firing makes due; wait briefly for rows
        other workers hold so the caller sees all of them applied."""
        fired, waited = 0, 0.0
        while True:
            batch = self.claim()
            fired += self.fire_batch(batch) if batch else 0
            if batch:
                continue
            if self.due_count() == 0 or waited >= max_wait:
                return fired
            time.sleep(0.05)
            waited += 0.05

    def due_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(d.due_at <= self.env.clock.now())).scalar_one()

    def housekeeping(self) -> None:
        """Drop expired Idempotency-Key records, at most once an hour."""
        now = self.env.clock.now()
        if self._last_purge is not None and now - self._last_purge < timedelta(hours=1):
            return
        with UnitOfWork(self.engine) as uow:
            purged = idempotency.purge(uow, now)
            uow.commit()
        self._last_purge = now
        if purged:
            log.info("purged %d expired idempotency keys", purged)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        log.info("deadline worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    self.housekeeping()
                    stop.wait(poll_seconds)
            except sa.exc.OperationalError:
                log.warning("database unavailable; retrying", exc_info=True)
                stop.wait(poll_seconds)
        log.info("deadline worker %s stopped: %s", self.worker_id, self.stats)
