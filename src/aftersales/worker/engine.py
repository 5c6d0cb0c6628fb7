"""The deadline engine: every due deadline fires once in effect, and none is lost.

A worker takes a batch of due deadlines, oldest first, and fires it in one transaction: the
rows are deleted as they are taken (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of
workers share the queue), and the state changes and their events (unique on deadline_id) commit
with that delete or not at all. A worker that dies mid-batch takes nothing with it: the database
rolls its transaction back and the rows are due again at once. One that hangs holds them at most
its lease: on PostgreSQL the transaction runs with `idle_in_transaction_session_timeout` and
`statement_timeout` set to it.

System actions whose whole effect is on the subject (an order's auto-complete or auto-cancel, a
return's auto-approve) fire set-based: their subjects load in one statement and
`transitions.write_many` writes them a statement per table. Everything else (refunds,
sanctions, rulings) goes through its service, one savepoint per deadline. Either way a subject
whose version moved since its deadline was armed is left alone (that deadline is stale).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .. import metrics
from ..domain.errors import DomainError, VersionConflict
from ..services import evidence, heartbeats, idempotency, reminders
from ..services.context import SYSTEM, Env
from ..services.kinds import KINDS
from ..services.transitions import Kind, Step, prepare, write_many
from ..store import bulk, partitions
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork

log = logging.getLogger("aftersales.worker")
d = t.deadlines.c


SET_BASED: dict[str, Kind] = {name: entry.kind for name, entry in KINDS.items() if entry.set_based}
REMIND_EVERY = timedelta(minutes=1)
RESCAN_EVERY = 10  # batches taken after a cursor before scanning from the oldest due row again
BEAT_EVERY = 5.0  # seconds between a running worker's heartbeats (services/health.py STALE_AFTER)


@dataclass
class Stats:
    taken: int = 0
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
        batch_size: int = 500,
        lease: timedelta = timedelta(seconds=30),
        retention: partitions.Retention = partitions.Retention(),
    ) -> None:
        self.engine, self.env, self.worker_id = engine, env, worker_id
        self.batch_size, self.lease, self.retention = batch_size, lease, retention
        self.stats = Stats()
        self._last_purge: datetime | None = None
        self._last_remind: datetime | None = None
        # Where the last full batch ended, and how many batches started from there since a scan
        # from the start (see `take`).
        self._after: tuple[datetime, int] | None = None
        self._resumed = 0

    def run_once(self) -> int:
        """Take one batch of due deadlines and fire it; the number fired."""
        taken: list[Any] = []
        skipped = self.stats.skipped
        try:
            with UnitOfWork(self.engine) as uow:
                now = self.env.clock.now()
                taken = self.take(uow)
                fired = self.fire(uow, taken)
                uow.commit()
        except sa.exc.OperationalError:
            raise  # the database is away: the caller waits and retries
        except sa.exc.SQLAlchemyError:
            log.exception("deadline batch failed; its rows stay due and are retried")
            self.stats.failed += len(taken)
            metrics.DEADLINES_FAILED.inc(len(taken))
            return 0
        self.stats.fired += fired
        # Counted once committed: a batch that rolls back is taken again and counted then.
        metrics.DEADLINES_FIRED.inc(fired)
        metrics.DEADLINES_SKIPPED.inc(self.stats.skipped - skipped)
        for row in taken:
            metrics.DEADLINE_LAG.observe(max(0.0, (now - row.due_at).total_seconds()))
        return fired

    def take(self, uow: UnitOfWork) -> list[Any]:
        """Delete up to batch_size due deadlines, oldest first, in the caller's transaction, which
        holds them until it ends; the rows, for `fire`."""
        if uow.dialect == "postgresql":
            ms = int(self.lease.total_seconds() * 1000)
            uow.execute(
                sa.text(
                    "SELECT set_config('idle_in_transaction_session_timeout', :ms, true), "
                    "set_config('statement_timeout', :ms, true)"
                ),
                {"ms": str(ms)},
            )
        where = [d.due_at <= self.env.clock.now()]
        # Resume after the last full batch: the rows before it were deleted, and while any old
        # snapshot (a long transaction anywhere) keeps vacuum from removing them, a scan from the
        # start would step over every one of them again. Every few batches, and whenever a batch
        # comes back short, start from the start again, for rows a crashed worker handed back.
        if self._after is not None and self._resumed < RESCAN_EVERY:
            # (typed as the columns: an aware datetime alone would be bound as timestamptz, and
            # compared with the naive UTC column in the session's time zone)
            after = sa.tuple_(sa.literal(self._after[0], d.due_at.type), sa.literal(self._after[1], d.id.type))
            where.append(sa.tuple_(d.due_at, d.id) > after)
            self._resumed += 1
        else:
            self._resumed = 0
        due = (
            sa.select(d.id)
            .where(*where)
            .order_by(d.due_at, d.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        stmt = (
            t.deadlines.delete()
            .where(d.id.in_(sa.select(due.c.id)))
            .returning(d.id, d.subject_kind, d.subject_id, d.action, d.due_at, d.armed_version)
        )
        rows = sorted(uow.execute(stmt).all(), key=lambda r: (r.due_at, r.id))
        self._after = (rows[-1].due_at, rows[-1].id) if len(rows) == self.batch_size else None
        self.stats.taken += len(rows)
        return rows

    def fire(self, uow: UnitOfWork, rows: list[Any]) -> int:
        """Apply taken deadlines in the caller's transaction; the number that had their effect.
        Those not fired set-based get a savepoint each, so one failing item never stops the others."""
        fired, rest = self._fire_set_based(uow, rows)
        for row in rest:
            try:
                with uow.conn.begin_nested():
                    fired += self._fire_one(uow, row)
            except (DomainError, sa.exc.IntegrityError) as exc:
                # A deadline that can no longer apply (its subject moved on): it is consumed.
                log.info("deadline %s not fired: %s", row.id, exc)
                self.stats.skipped += 1
        return fired

    def _fire_set_based(self, uow: UnitOfWork, rows: list[Any]) -> tuple[int, list[Any]]:
        """Fire what can be fired set-based; the number fired, and the rows left for `_fire_one`."""
        groups: dict[str, list[Any]] = defaultdict(list)
        rest: list[Any] = []
        for row in rows:
            (groups[row.subject_kind] if row.subject_kind in SET_BASED else rest).append(row)
        fired = 0
        for name, group in groups.items():
            kind = SET_BASED[name]
            steps, left = self._prepare(uow, kind, group)
            rest += left
            if not steps:  # (all stale, or all for their service: no savepoint to open)
                continue
            try:
                with uow.conn.begin_nested():
                    write_many(uow, kind, steps)
            except VersionConflict as exc:
                # A party moved one of the subjects meanwhile: sort them out one by one.
                log.info("set-based firing of %d %s deadlines fell back: %s", len(steps), name, exc)
                by_id = {r.id: r for r in group}
                rest += [by_id[s.deadline_id] for s in steps]
                continue
            fired += len(steps)
        return fired, rest

    def _prepare(self, uow: UnitOfWork, kind: Kind, rows: list[Any]) -> tuple[list[Step], list[Any]]:
        """Load the subjects and prepare each firing in memory; rows whose subject is gone or
        stale are dropped, and those that need their service are returned for `_fire_one`."""
        repo = kind.repo(uow)
        ids = [r.subject_id for r in rows]
        subjects = {s.id: s for s in repo.find(bulk.among(uow.conn, repo.table.c.id, ids))}
        context = kind.batch_context(uow, list(subjects.values()))
        steps, left = [], []
        for row in rows:
            subject = subjects.get(row.subject_id)
            if subject is None or subject.version != row.armed_version:
                self.stats.skipped += 1  # stale: the subject moved on without disarming
                continue
            try:
                step = prepare(
                    None,
                    self.env,
                    SYSTEM,
                    kind,
                    subject,
                    row.action,
                    deadline_id=row.id,
                    set_based=True,
                    context=context,
                )
            except DomainError:
                step = None
            if step is None:
                left.append(row)
            else:
                steps.append(step)
        return steps, left

    def _fire_one(self, uow: UnitOfWork, row: Any) -> bool:
        if self._subject_version(uow, row) != row.armed_version:
            self.stats.skipped += 1  # stale: the subject moved on without disarming
            return False
        KINDS[row.subject_kind].fire(uow, self.env, row)
        return True

    def _subject_version(self, uow: UnitOfWork, row: Any) -> int | None:
        table = KINDS[row.subject_kind].table
        return uow.execute(sa.select(table.c.version).where(table.c.id == row.subject_id)).scalar()

    def run_until_idle(self, max_wait: float = 10.0) -> int:
        """Fire everything due now, including what firing makes due; wait briefly for rows
        other workers hold so the caller sees all of them applied."""
        fired, waited = 0, 0.0
        while True:
            taken, failed = self.stats.taken, self.stats.failed
            fired += self.run_once()
            if self.stats.failed > failed:
                return fired  # the batch rolled back and stays due: retrying now would fail again
            if self.stats.taken > taken:
                continue
            if self.due_count() == 0 or waited >= max_wait:
                self.remind()
                return fired
            time.sleep(0.05)
            waited += 0.05

    def idle_wait(self, poll_seconds: float) -> float:
        """Seconds to wait after a batch that found nothing: until the next deadline falls due, at
        most `poll_seconds` (so one due in 80 ms fires in about 80 ms, not a whole poll late)."""
        now = self.env.clock.now()
        with self.engine.connect() as conn:
            upcoming = conn.execute(sa.select(sa.func.min(d.due_at))).scalar()
        if upcoming is None or upcoming <= now:  # (due but held by another worker: poll)
            return poll_seconds
        return min(poll_seconds, (upcoming - now).total_seconds())

    def due_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(d.due_at <= self.env.clock.now())).scalar_one()

    def remind(self) -> int:
        """Write the reminders due now (services/reminders.py); the number written."""
        now = self.env.clock.now()
        try:
            with UnitOfWork(self.engine) as uow:
                sent = reminders.send_due(uow, self.env, now)
                uow.commit()
        except sa.exc.OperationalError:
            raise
        except sa.exc.SQLAlchemyError:
            log.exception("sending reminders failed; they are tried again")
            return 0
        self._last_remind = now
        return sent

    def housekeeping(self) -> None:
        """Send due reminders at most once a minute (they count in hours); drop expired
        Idempotency-Key records, keep the monthly partitions ahead and retained, and sweep stored
        evidence objects no row references at most once an hour."""
        now = self.env.clock.now()
        if self._last_remind is None or now - self._last_remind >= REMIND_EVERY:
            self.remind()
        if self._last_purge is not None and now - self._last_purge < timedelta(hours=1):
            return
        with UnitOfWork(self.engine) as uow:
            purged = idempotency.purge(uow, now)
            uow.commit()
        self._last_purge = now
        if purged:
            log.info("purged %d expired idempotency keys", purged)
        self.maintain_partitions()
        try:
            with UnitOfWork(self.engine) as uow:
                evidence.sweep(uow, self.env)
        except Exception:  # a bucket that does not answer must not stop the deadlines
            log.warning("evidence storage sweep failed; next try in an hour", exc_info=True)

    def maintain_partitions(self) -> partitions.Maintained:
        """This month's and the next months' partitions created, the retention applied (PostgreSQL;
        store/partitions.py). A failure is logged and tried again in an hour: until then rows of
        a month without its partition go to the default one."""
        if self.engine.dialect.name != "postgresql":
            return partitions.Maintained()  # (SQLite keeps plain tables: not even a transaction)
        try:
            with self.engine.begin() as conn:
                done = partitions.maintain(conn, self.env.clock.now(), self.retention)
        except sa.exc.SQLAlchemyError:
            log.warning("partition maintenance failed; next try in an hour", exc_info=True)
            return partitions.Maintained()
        partitions.log_maintained(done)
        return done

    def beat(self) -> None:
        """Record this worker process's heartbeat (GET /healthz shows its age)."""
        with UnitOfWork(self.engine) as uow:
            heartbeats.beat(
                uow,
                role="deadline_worker",
                name=f"deadline-worker:{socket.gethostname()}:{os.getpid()}",
                at=self.env.clock.now(),
                detail={"worker_id": self.worker_id, "fired": self.stats.fired, "failed": self.stats.failed},
            )
            uow.commit()

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        log.info("deadline worker %s started", self.worker_id)
        self.maintain_partitions()  # before the first busy stretch, whose housekeeping waits for idle
        last_beat: float | None = None  # time.monotonic() of the last heartbeat
        while not stop.is_set():
            try:
                if last_beat is None or time.monotonic() - last_beat >= BEAT_EVERY:
                    last_beat = time.monotonic()
                    try:
                        self.beat()
                    except sa.exc.SQLAlchemyError:
                        # A beat missed shows as a stale worker; it must not stop the firing.
                        log.warning("heartbeat not recorded", exc_info=True)
                taken, failed = self.stats.taken, self.stats.failed
                self.run_once()
                # Never idle longer than a heartbeat's interval, whatever the poll.
                if self.stats.failed > failed:  # back off
                    stop.wait(min(poll_seconds, BEAT_EVERY))
                elif self.stats.taken == taken:  # idle
                    self.housekeeping()
                    stop.wait(min(self.idle_wait(poll_seconds), BEAT_EVERY))
            except sa.exc.OperationalError:
                log.warning("database unavailable; retrying", exc_info=True)
                stop.wait(min(poll_seconds, BEAT_EVERY))
        log.info("deadline worker %s stopped: %s", self.worker_id, self.stats)
