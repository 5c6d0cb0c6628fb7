"""What the deadline benchmark's engine runs and baselines share: the database, the arranged rows,
the firing transaction's SQL, timed worker processes and the lateness measurement."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

BASE = os.environ.get("AFTERSALES_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Its own schema, so a benchmark never touches a test session's tables; settable so two people can
# run it at once on one server.
_TAG = os.environ.get("AFTERSALES_BENCH_TAG", "").lower()
SCHEMA = os.environ.get("AFTERSALES_BENCH_SCHEMA", f"aftersales_bench_{_TAG}" if _TAG else "aftersales_bench")
PGQUEUER_SCHEMA = f"{SCHEMA}_pgqueuer"
PROCRASTINATE_SCHEMA = f"{SCHEMA}_procrastinate"
URL = f"{BASE}{'&' if '?' in BASE else '?'}options=-csearch_path%3D{SCHEMA}"
LIBPQ_URL = BASE.replace("postgresql+psycopg://", "postgresql://")  # for asyncpg and procrastinate
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
FIRE_AT = T0 + timedelta(hours=49)  # the throughput runs' business time: every due row is due
NEXT = timedelta(days=7)  # auto_close after auto_approve
# Not-yet-due rows are numbered from here, so resetting the due ones between runs leaves them be.
LATER_FROM = 1_000_000_000
BOUNDARY = {"case": f"as_{LATER_FROM:026d}", "order": f"o-{LATER_FROM:026d}"}


def naive(at: datetime) -> datetime:
    """The store's form: naive UTC."""
    return at.astimezone(UTC).replace(tzinfo=None)


ROWS = """
INSERT INTO orders (id, buyer_id, merchant_id, payment_method, currency, shipping_fee, items, goods_total, status,
                    policy, paid_amount, refunded_amount, discount, units, extra, version, created_at, updated_at)
SELECT 'o-' || lpad(g::text, 26, '0'), 'b-' || (g % 5000), 'm-' || (g % 200), 'online', 'CNY', 0, '[]', 1000,
       'delivered', 'douyin@1', 1000, 0, 0, '{}', '{}', 5, :t0, :t0
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g;
INSERT INTO after_sales (id, order_id, buyer_id, merchant_id, payment_method, type, reason, amount, currency, status,
                         policy, description, evidence, items, deadline_action, deadline_due_at, extra, version,
                         created_at, updated_at)
SELECT 'as_' || lpad(g::text, 26, '0'), 'o-' || lpad(g::text, 26, '0'), 'b-' || (g % 5000), 'm-' || (g % 200),
       'online', 'return_refund', 'damaged', 1000, 'CNY', 'pending_merchant', 'douyin@1', '', '[]', '[]', 'auto_approve',
       :due_at + (g - CAST(:first AS bigint)) * CAST(:step AS interval), '{}', 1, :t0, :t0
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g;
INSERT INTO deadlines (subject_kind, subject_id, action, due_at, armed_version, created_at)
SELECT 'after_sale', 'as_' || lpad(g::text, 26, '0'), 'auto_approve', :due_at + (g - CAST(:first AS bigint)) * CAST(:step AS interval), 1, :t0
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g
"""

# Everything a firing writes, fed by a `due` CTE of (id, subject_id, armed_version) deadline rows
# it has deleted: the conditional case transition with the version check, the next deadline, the
# event (unique on deadline_id) and the outbox row. The engine's effects, written as one statement.
EFFECTS = """
moved AS (
  UPDATE after_sales a SET status = 'awaiting_return', version = a.version + 1, updated_at = :now,
         deadline_action = 'auto_close', deadline_due_at = :next
  FROM due WHERE a.id = due.subject_id AND a.version = due.armed_version AND a.status = 'pending_merchant'
  RETURNING a.id, due.id AS deadline_id, a.version),
armed AS (
  INSERT INTO deadlines (subject_kind, subject_id, action, due_at, armed_version, created_at)
  SELECT 'after_sale', id, 'auto_close', :next, version, :now FROM moved),
ev AS (
  INSERT INTO events (subject_kind, subject_id, action, actor_role, actor_id, at, before, after, data, deadline_id)
  SELECT 'after_sale', id, 'auto_approve', 'system', 'system', :now, '{"status": "pending_merchant"}',
         '{"status": "awaiting_return"}', '{}', deadline_id FROM moved
  RETURNING id, subject_id)
INSERT INTO outbox (event_id, topic, payload, created_at, attempts)
SELECT id, 'after_sale.auto_approve', json_build_object('subject_id', subject_id), :now, 0 FROM ev
"""


def firing_sql(due: str, **placeholders: str) -> str:
    """The firing transaction for the deadlines `due` selects, with the driver's placeholders
    (`now`, `next`, `id`) in place of the `:name` ones."""
    sql = f"WITH due AS ({due}),\n{EFFECTS}"
    for name, placeholder in placeholders.items():
        sql = sql.replace(f":{name}", placeholder)
    return sql


# One deadline by id: what a queue job (one job per deadline) does.
ONE_DUE = "DELETE FROM deadlines WHERE id = :id RETURNING id, subject_id, armed_version"


class Rows:
    """Arranges N due auto_approve deadlines on real cases among M not yet due. Between runs only
    the due rows (and what firing wrote) are rebuilt: the M rows stay, as they would in production."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.later: int | None = None

    def arrange(
        self, due: int, later: int, *, first_due: datetime | None = None, step: timedelta = timedelta(0)
    ) -> None:
        """Due rows 1..due fall due from first_due (default: all at T0 + 48 h), one every step."""
        first_due = first_due or T0 + timedelta(hours=48)
        with self.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE outbox, events RESTART IDENTITY"))
            if later != self.later:
                conn.execute(sa.text("TRUNCATE deadlines, after_sales, orders RESTART IDENTITY CASCADE"))
                self._insert(conn, LATER_FROM + 1, LATER_FROM + later, T0 + timedelta(days=3650), timedelta(0))
                self.later = later
            else:
                conn.execute(sa.text("DELETE FROM deadlines WHERE subject_id < :b"), {"b": BOUNDARY["case"]})
                conn.execute(sa.text("DELETE FROM after_sales WHERE id < :b"), {"b": BOUNDARY["case"]})
                conn.execute(sa.text("DELETE FROM orders WHERE id < :b"), {"b": BOUNDARY["order"]})
            self._insert(conn, 1, due, first_due, step)
        self.vacuum()

    def vacuum(self, tables: str = "") -> None:
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(f"VACUUM ANALYZE {tables}"))

    @staticmethod
    def _insert(conn: sa.Connection, first: int, last: int, due_at: datetime, step: timedelta) -> None:
        params = {"t0": naive(T0), "first": first, "last": last, "due_at": naive(due_at), "step": step}
        for statement in ROWS.split(";\n"):
            conn.execute(sa.text(statement), params)


def fired(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM events WHERE action = 'auto_approve'")).scalar_one()


def _child(target: Callable[..., None], index: int, ready: Any, args: tuple[Any, ...]) -> None:
    target(index, ready, *args)


def timed_processes(
    target: Callable[..., None],
    workers: int,
    *args: Any,
    until: Callable[[], None] | None = None,
    timeout: float = 3600.0,
) -> float:
    """Run target(index, ready, *args) in `workers` processes; each connects, then waits on
    `ready`. Seconds from all being ready to all having exited; `until`, if given, runs in
    between (to tell workers that run until stopped when to stop)."""
    ready = mp.Barrier(workers + 1)
    procs = [mp.Process(target=_child, args=(target, i, ready, args)) for i in range(workers)]
    for p in procs:
        p.start()
    ready.wait(timeout=120)
    start = time.perf_counter()
    if until:
        until()
    for p in procs:
        p.join(timeout)
        if p.exitcode != 0:
            for q in procs:
                q.kill()
            raise RuntimeError(f"bench worker exited with {p.exitcode}")
    return time.perf_counter() - start


def wait_until(done: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        time.sleep(poll)
    return True


# Lateness: fired_at (the event's `at`) minus the due time each runner was given, in seconds.
DUE_TABLE = "CREATE TABLE IF NOT EXISTS bench_due (subject_id text PRIMARY KEY, due_at timestamp NOT NULL)"
# A deadline still unfired counts as late until now.
LATENESS = """
SELECT count(*), count(at), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY s), max(s)
FROM (SELECT e.at, extract(epoch FROM coalesce(e.at, :now) - b.due_at) AS s
      FROM bench_due b LEFT JOIN events e ON e.subject_id = b.subject_id AND e.action = 'auto_approve') x
"""


def record_due(engine: sa.Engine, select: str) -> None:
    """Note each case's due time (select gives subject_id, due_at) before firing rewrites it."""
    with engine.begin() as conn:
        conn.execute(sa.text(DUE_TABLE))
        conn.execute(sa.text("TRUNCATE bench_due"))
        conn.execute(sa.text(f"INSERT INTO bench_due (subject_id, due_at) {select}"))


def lateness(engine: sa.Engine) -> dict[str, float]:
    with engine.connect() as conn:
        n, done, p50, p99, worst = conn.execute(sa.text(LATENESS), {"now": naive(datetime.now(UTC))}).one()
    return {"n": n, "fired": done, "p50": float(p50 or 0), "p99": float(p99 or 0), "max": float(worst or 0)}


@contextmanager
def held_snapshot(engine: sa.Engine) -> Iterator[None]:
    """Another session holds a REPEATABLE READ snapshot and a transaction id throughout: no row
    deleted or updated meanwhile can be vacuumed away."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as tx:
            conn.execute(sa.text("SELECT txid_current(), count(*) FROM deadlines"))
            try:
                yield
            finally:
                tx.rollback()
