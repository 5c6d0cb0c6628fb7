"""Deadline firing: the engine against baselines doing the same work, on PostgreSQL.

Arms N due auto_approve deadlines on real cases (among M not yet due), fires them with K worker
processes, and reports fired/s. In the same run, on the same rows, the baselines do the same
transaction (delete the deadline, conditional case transition with a version check, the next
deadline, the event, the outbox row):
  - a set-based SQL batch, 1 000 deadlines a statement: the floor no engine beats;
  - PgQueuer (asyncpg), one job per deadline, K consumer processes;
  - procrastinate (psycopg), one job per deadline scheduled at its due time, K worker processes.
Then three scenarios at the engine's best K:
  - not yet due: the rate among M not-yet-due rows against the rate among none;
  - lateness: deadlines fall due one by one on the real clock at half the engine's peak rate;
    fired_at (the event's `at`) minus due_at, p50/p99, for the engine and for PgQueuer;
  - held transaction: another session keeps a snapshot open all along, so vacuum cleans nothing.
The last line is JSON with the rates, the lateness figures and the ratios. Set
AFTERSALES_BENCH_SCHEMA to run beside someone else's run on the same server.

    python bench/deadlines.py --quick          # 20 000 due, 0 (and 200 000) not yet due, under 6 min
    python bench/deadlines.py -n 1000000 -m 10000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import _baselines as baselines
from _deadline_harness import (
    BASE,
    BOUNDARY,
    FIRE_AT,
    SCHEMA,
    URL,
    Rows,
    held_snapshot,
    lateness,
    naive,
    record_due,
    timed_processes,
    wait_until,
)
from _deadline_harness import fired as count_fired
from aftersales.config import Settings
from aftersales.domain.clock import Clock, ManualClock, SystemClock
from aftersales.runtime import Runtime
from aftersales.store import migrate
from aftersales.store.database import create_engine
from aftersales.worker.engine import DeadlineEngine


def _deadline_engine(index: int, batch: int | None, clock: Clock) -> DeadlineEngine:
    settings = Settings(
        data_dir=Path("/tmp/aftersales-bench"), database_url=URL, jwt_secret="x" * 32, simulated_clock=False, demo=False
    )
    runtime = Runtime.build(settings, clock=clock)
    sized = {"batch_size": batch} if batch else {}  # else the engine's own default
    return DeadlineEngine(runtime.engine, runtime.env, f"bench-{index}", **sized)


def _engine_worker(index: int, ready: Any, batch: int | None) -> None:
    engine = _deadline_engine(index, batch, ManualClock(FIRE_AT))
    ready.wait()
    while engine.run_once():  # nothing here is skipped: a batch firing none means none was due
        pass


def _engine_live_worker(index: int, ready: Any, batch: int | None, stop: Any, poll: float) -> None:
    engine = _deadline_engine(index, batch, SystemClock())
    ready.wait()
    engine.run_forever(stop, poll_seconds=poll)


class Bench:
    def __init__(self, engine: sa.Engine, n: int, m: int, queue_n: int, batch: int | None, poll: float) -> None:
        self.engine, self.rows, self.n, self.m, self.queue_n = engine, Rows(engine), n, m, queue_n
        self.batch, self.poll = batch, poll

    def rate(self, label: str, fire: Callable[[], float], expected: int | None = None) -> float:
        seconds = fire()
        fired = count_fired(self.engine)
        if fired != (expected or self.n):
            raise SystemExit(f"{label}: fired {fired} of {expected or self.n}")
        rate = fired / seconds
        print(f"{label}: {fired} fired in {seconds:.2f}s = {rate:,.0f}/s", flush=True)
        return rate

    def sql_batch(self) -> float:
        self.rows.arrange(self.n, self.m)
        return self.rate("sql batch (1000/statement)", lambda: baselines.run_sql_batch(self.engine))

    def engine_run(self, k: int, label: str = "", later: int | None = None) -> float:
        self.rows.arrange(self.n, self.m if later is None else later)
        return self.rate(
            f"engine, {k} worker(s), batch {self.batch or 'default'}{label}",
            lambda: timed_processes(_engine_worker, k, self.batch),
        )

    def pgqueuer(self, k: int, label: str = "") -> float:
        self.rows.arrange(self.n, self.m)
        asyncio.run(baselines.pgqueuer_enqueue(self.queue_n))
        return self.rate(f"pgqueuer, {k} consumer(s){label}", lambda: baselines.run_pgqueuer(k), self.queue_n)

    def procrastinate(self, k: int) -> float:
        self.rows.arrange(self.n, self.m)
        baselines.procrastinate_defer(self.queue_n)
        return self.rate(f"procrastinate, {k} worker(s)", lambda: baselines.run_procrastinate(k), self.queue_n)

    def held(self, run: Callable[[], float]) -> float:
        with held_snapshot(self.engine):
            return run()

    # ---- lateness: due times on the real clock ----

    def engine_lateness(self, k: int, rate: float, seconds: float, lead: float) -> dict[str, float]:
        count = max(100, int(rate * seconds))
        far = FIRE_AT + timedelta(days=3650)
        self.rows.arrange(count, self.m, first_due=far, step=timedelta(seconds=1 / rate))
        record_due(
            self.engine,
            "SELECT subject_id, due_at FROM deadlines WHERE subject_kind = 'after_sale' "
            f"AND subject_id < '{BOUNDARY['case']}' AND action = 'auto_approve'",
        )
        # Arranged far ahead, then moved onto the real clock in one go, `lead` seconds ahead.
        shift = naive(datetime.now(UTC) + timedelta(seconds=lead)) - naive(far)
        with self.engine.begin() as conn:
            params = {"shift": shift, "b": BOUNDARY["case"]}
            conn.execute(
                sa.text(
                    "UPDATE deadlines SET due_at = due_at + :shift "
                    "WHERE subject_kind = 'after_sale' AND subject_id < :b"
                ),
                params,
            )
            conn.execute(
                sa.text("UPDATE after_sales SET deadline_due_at = deadline_due_at + :shift WHERE id < :b"), params
            )
            conn.execute(sa.text("UPDATE bench_due SET due_at = due_at + :shift"), params)
        self.rows.vacuum("deadlines, after_sales")
        headroom = self._headroom()
        stop = mp.Event()
        timed_processes(
            _engine_live_worker,
            k,
            self.batch,
            stop,
            self.poll,
            until=lambda: self._until_fired(count, lead + count / rate, stop.set),
        )
        return self._report_lateness(f"engine, {k} worker(s), poll {self.poll}s", rate, headroom)

    def pgqueuer_lateness(self, k: int, rate: float, seconds: float, lead: float) -> dict[str, float]:
        count = max(100, int(rate * seconds))
        self.rows.arrange(count, self.m)
        baselines.pgqueuer_lateness_arrange(self.engine, rate, lead, count)
        headroom = self._headroom()
        baselines.run_pgqueuer(k, live=True)
        return self._report_lateness(f"pgqueuer, {k} consumer(s)", rate, headroom)

    def _headroom(self) -> float:
        """Seconds left before the first deadline falls due, as the workers are about to start."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT extract(epoch FROM min(due_at) - (now() AT TIME ZONE 'UTC')) FROM bench_due")
            ).scalar_one()

    def _until_fired(self, count: int, expected_seconds: float, then: Callable[[], None]) -> None:
        wait_until(lambda: count_fired(self.engine) >= count, timeout=expected_seconds * 3 + 30)
        then()

    def _report_lateness(self, label: str, rate: float, headroom: float) -> dict[str, float]:
        late = lateness(self.engine)
        warning = " (WARNING: workers started late, lateness overstated)" if headroom < 1 else ""
        print(
            f"lateness at {rate:,.0f} due/s, {label}: {late['fired']} of {late['n']} fired, "
            f"p50 {late['p50'] * 1000:.0f} ms, p99 {late['p99'] * 1000:.0f} ms, max {late['max'] * 1000:.0f} ms; "
            f"first due {headroom:.1f}s after arranging{warning}",
            flush=True,
        )
        return late


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1_000_000, help="due deadlines")
    parser.add_argument(
        "-m", "--not-due", dest="m", type=int, default=10_000_000, help="not-yet-due deadlines beside them"
    )
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, help="the engine's batch size (default: its own)")
    parser.add_argument("--poll", type=float, default=0.1, help="the engine's poll interval in the lateness run")
    parser.add_argument("--lateness-seconds", type=float, default=60.0, help="how long deadlines keep falling due")
    parser.add_argument(
        "--queue-n", type=int, help="jobs the queue baselines fire: the first of the N (default 100 000, at most N)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="-n 20000 -m 0 --queue-n 2000, the not-yet-due scenario with 200 000, lateness over 6 s",
    )
    args = parser.parse_args()
    # The queues spend a job, and commits, per deadline: at a few hundred a second they fire the
    # first of the same rows only (100 000, or 2 000 in the quick run), or the run takes hours.
    if args.quick:
        args.n, args.m, args.lateness_seconds = 20_000, 0, 6.0
        args.queue_n = args.queue_n or 2_000
    args.queue_n = min(args.n, args.queue_n or 100_000)
    args.not_due = args.m or (200_000 if args.quick else 0)
    args.ks = [int(x) for x in args.workers.split(",")]
    return args


def _bench(args: argparse.Namespace) -> Bench:
    with sa.create_engine(BASE).begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine = create_engine(URL)
    migrate.upgrade(engine)
    asyncio.run(baselines.pgqueuer_install())
    baselines.procrastinate_install()
    return Bench(engine, args.n, args.m, args.queue_n, args.batch, args.poll)


def throughput(bench: Bench, ks: list[int], report: dict[str, Any]) -> dict[int, float]:
    """The engine and the baselines at each K; each K's runs go back to back, the SQL batch
    measured again beside them, as a shared machine's load drifts over minutes."""
    sql, rates, pgq, proc = {}, {}, {}, {}
    for k in ks:
        sql[k], rates[k] = bench.sql_batch(), bench.engine_run(k)
        pgq[k], proc[k] = bench.pgqueuer(k), bench.procrastinate(k)
        report[f"engine_{k}w_vs_sql_batch"] = round(rates[k] / sql[k], 4)
        report[f"engine_{k}w_vs_pgqueuer"] = round(rates[k] / pgq[k], 4)
        report[f"engine_{k}w_vs_procrastinate"] = round(rates[k] / proc[k], 4)
        print(
            f"K={k}: engine {rates[k]:,.0f}/s = {rates[k] / sql[k]:.3f}x the SQL batch, "
            f"{rates[k] / pgq[k]:.2f}x PgQueuer, {rates[k] / proc[k]:.2f}x procrastinate",
            flush=True,
        )
    for name, runs in (("sql_batch", sql), ("engine", rates), ("pgqueuer", pgq), ("procrastinate", proc)):
        report[f"{name}_per_s"] = {k: round(r) for k, r in runs.items()}
    # Best against best too: a run slowed by someone else's load flatters whoever it is compared with.
    report["engine_best_vs_sql_batch_best"] = round(max(rates.values()) / max(sql.values()), 4)
    return rates


def held_snapshot_scenario(bench: Bench, k: int, report: dict[str, Any]) -> None:
    plain = bench.engine_run(k, ", plain")
    held = bench.held(lambda: bench.engine_run(k, ", snapshot held open"))
    report["engine_held_tx_vs_plain"] = round(held / plain, 4)
    plain = bench.pgqueuer(k, ", plain")
    held = bench.held(lambda: bench.pgqueuer(k, ", snapshot held open"))
    report["pgqueuer_held_tx_vs_plain"] = round(held / plain, 4)


def lateness_scenario(bench: Bench, k: int, engine_peak: float, seconds: float, report: dict[str, Any]) -> None:
    """At half the engine's peak, for both; and PgQueuer at half its own peak too, as the
    engine's half may be more than PgQueuer can take at all."""
    half, half_pgq = engine_peak / 2, report["pgqueuer_per_s"][k] / 2
    lead = 3.0 + bench.m / 1_000_000  # vacuuming among many rows takes a while
    late = {
        "engine": bench.engine_lateness(k, half, seconds, lead),
        "pgqueuer": bench.pgqueuer_lateness(k, half, seconds, lead),
        "pgqueuer_at_its_half": bench.pgqueuer_lateness(k, half_pgq, seconds, lead),
    }
    report.update(
        lateness_due_per_s=round(half),
        lateness_pgqueuer_own_half_due_per_s=round(half_pgq),
        **{f"lateness_{who}_ms": {q: round(x[q] * 1000) for q in ("p50", "p99")} for who, x in late.items()},
    )
    report["lateness_p99_engine_vs_pgqueuer"] = round(late["engine"]["p99"] / late["pgqueuer"]["p99"], 4)
    report["lateness_p99_engine_vs_pgqueuer_at_its_half"] = round(
        late["engine"]["p99"] / late["pgqueuer_at_its_half"]["p99"], 4
    )


def not_due_scenario(bench: Bench, k: int, not_due: int, report: dict[str, Any]) -> None:
    none = bench.engine_run(k, ", none not yet due", later=0)
    among = bench.engine_run(k, f", {not_due:,} not yet due", later=not_due)
    report.update(not_due_m=not_due, engine_not_due_vs_0=round(among / none, 4))
    print(f"engine among {not_due:,} not-yet-due rows: {among / none:.3f}x the rate among none", flush=True)


def main() -> None:
    args = _args()
    bench = _bench(args)
    print(
        f"deadlines: {args.n:,} due among {args.m:,} not yet due (queue baselines: the first "
        f"{args.queue_n:,}); workers {args.ks}",
        flush=True,
    )
    report: dict[str, Any] = {
        "benchmark": "deadlines",
        "n": args.n,
        "m": args.m,
        "queue_n": args.queue_n,
        "batch": args.batch,
    }
    rates = throughput(bench, args.ks, report)
    # The scenarios run at the engine's best K, each comparing runs made back to back.
    best = report["best_k"] = max(args.ks, key=lambda k: rates[k])
    held_snapshot_scenario(bench, best, report)
    lateness_scenario(bench, best, rates[best], args.lateness_seconds, report)
    if args.not_due:
        not_due_scenario(bench, best, args.not_due, report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
