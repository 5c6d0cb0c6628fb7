"""Deadline firing: the engine against a set-based SQL batch doing the same work, on PostgreSQL.

Arms N due auto_approve deadlines on real cases (among M not yet due), fires them with K worker
processes, and reports fired/s. The baseline, measured in the same run on the same rows, is one
SQL statement per 1,000 deadlines doing the same transaction (delete the deadline, conditional
case transition, event, outbox row): the floor no engine beats. The last line is JSON.

    python bench/deadlines.py --quick          # 20 000 due, 0 not yet due, workers 1,2,4
    python bench/deadlines.py -n 1000000 -m 10000000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aftersales.config import Settings  # noqa: E402
from aftersales.domain.clock import ManualClock  # noqa: E402
from aftersales.runtime import Runtime  # noqa: E402
from aftersales.store import migrate  # noqa: E402
from aftersales.store.database import create_engine  # noqa: E402
from aftersales.worker.engine import DeadlineEngine  # noqa: E402

BASE = os.environ.get("AFTERSALES_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "aftersales_bench"
URL = f"{BASE}{'&' if '?' in BASE else '?'}options=-csearch_path%3D{SCHEMA}"
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
FIRE_AT = T0 + timedelta(hours=49)

ARRANGE = """
INSERT INTO orders (id, buyer_id, merchant_id, payment_method, currency, shipping_fee, items, goods_total, status,
                    policy, paid_amount, refunded_amount, open_case_id, extra, version, created_at, updated_at)
SELECT 'o-' || g, 'b-' || (g % 5000), 'm-' || (g % 200), 'online', 'CNY', 0, '[]', 1000, 'delivered', 'douyin@1',
       1000, 0, 'as_' || lpad(g::text, 26, '0'), '{}', 5, :t0, :t0
FROM generate_series(1, :total) g;
INSERT INTO after_sales (id, order_id, buyer_id, merchant_id, payment_method, type, reason, amount, currency, status,
                         policy, description, evidence, deadline_action, deadline_due_at, extra, version, created_at,
                         updated_at)
SELECT 'as_' || lpad(g::text, 26, '0'), 'o-' || g, 'b-' || (g % 5000), 'm-' || (g % 200), 'online', 'return_refund',
       'damaged', 1000, 'CNY', 'pending_merchant', 'douyin@1', '', '[]', 'auto_approve',
       CASE WHEN g <= :due THEN :due_at ELSE :later END, '{}', 1, :t0, :t0
FROM generate_series(1, :total) g;
INSERT INTO deadlines (subject_kind, subject_id, action, due_at, armed_version, created_at)
SELECT 'after_sale', 'as_' || lpad(g::text, 26, '0'), 'auto_approve',
       CASE WHEN g <= :due THEN :due_at ELSE :later END, 1, :t0
FROM generate_series(1, :total) g;
"""

# The floor: one statement fires 1 000 deadlines with the same effects as the engine.
SQL_BATCH = """
WITH due AS (
  DELETE FROM deadlines WHERE id IN (
    SELECT id FROM deadlines WHERE due_at <= :now ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
  RETURNING id, subject_id, armed_version),
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


def setup(engine: sa.Engine, due: int, later: int) -> None:
    with engine.begin() as conn:
        names = ", ".join(t for t in ("outbox", "events", "deadlines", "after_sales", "orders"))
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for statement in ARRANGE.strip().split(";\n"):
            if statement.strip():
                conn.execute(sa.text(statement), {"t0": T0.replace(tzinfo=None), "total": due + later, "due": due,
                                                  "due_at": (T0 + timedelta(hours=48)).replace(tzinfo=None),
                                                  "later": (T0 + timedelta(days=3650)).replace(tzinfo=None)})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))


def _worker(index: int, batch: int, results: "mp.Queue[int]") -> None:
    clock = ManualClock(FIRE_AT)
    settings = Settings(data_dir=Path("/tmp/aftersales-bench"), database_url=URL, jwt_secret="x" * 32,
                        simulated_clock=False, demo=False)
    runtime = Runtime.build(settings, clock=clock)
    engine = DeadlineEngine(runtime.engine, runtime.env, f"bench-{index}", batch_size=batch)
    fired = 0
    while True:
        claimed = engine.claim()
        if not claimed:
            break
        fired += engine.fire_batch(claimed)
    results.put(fired)


def run_engine(workers: int, batch: int) -> tuple[int, float]:
    results: "mp.Queue[int]" = mp.Queue()
    procs = [mp.Process(target=_worker, args=(i, batch, results)) for i in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    fired = sum(results.get() for _ in procs)
    for p in procs:
        p.join()
    return fired, time.perf_counter() - start


def run_sql_batch(engine: sa.Engine) -> tuple[int, float]:
    params = {"now": FIRE_AT.replace(tzinfo=None), "next": (FIRE_AT + timedelta(days=7)).replace(tzinfo=None)}
    fired, start = 0, time.perf_counter()
    while True:
        with engine.begin() as conn:
            n = conn.execute(sa.text(SQL_BATCH), params).rowcount
        if n <= 0:
            break
        fired += n
    return fired, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1_000_000, help="due deadlines")
    parser.add_argument("-m", type=int, default=10_000_000, help="not-yet-due deadlines beside them")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="-n 20000 -m 0")
    args = parser.parse_args()
    n, m = (20_000, 0) if args.quick else (args.n, args.m)
    with sa.create_engine(BASE).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine = create_engine(URL)
    migrate.upgrade(engine)

    setup(engine, n, m)
    fired, seconds = run_sql_batch(engine)
    baseline = fired / seconds
    print(f"sql batch (1000/statement): {fired} fired in {seconds:.2f}s = {baseline:,.0f}/s")
    ratios: dict[str, float] = {}
    for k in [int(x) for x in args.workers.split(",")]:
        setup(engine, n, m)
        fired, seconds = run_engine(k, args.batch)
        rate = fired / seconds
        ratios[f"engine_{k}w_vs_sql_batch"] = round(rate / baseline, 4)
        print(f"engine, {k} worker(s), batch {args.batch}: {fired} fired in {seconds:.2f}s = {rate:,.0f}/s "
              f"({rate / baseline:.3f}x the SQL batch)")
    print(json.dumps({"benchmark": "deadlines", "n": n, "m": m, "sql_batch_per_s": round(baseline), **ratios}))


if __name__ == "__main__":
    main()
