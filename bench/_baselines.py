"""The deadline benchmark's baselines, each doing the engine's firing transaction on the same rows:
a set-based SQL batch (the floor), PgQueuer (asyncpg) with one job per deadline, and procrastinate
(psycopg) with one scheduled job per deadline. The queues live in schemas of their own.

Each job runs the firing transaction as one statement on a pooled connection: the cheapest way a
user of these libraries could write it, so the comparison errs in the baselines' favour."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from _deadline_harness import (
    BOUNDARY,
    FIRE_AT,
    LIBPQ_URL,
    NEXT,
    ONE_DUE,
    PGQUEUER_SCHEMA,
    PROCRASTINATE_SCHEMA,
    SCHEMA,
    firing_sql,
    naive,
    record_due,
    timed_processes,
)

os.environ["PGQUEUER_SCHEMA"] = PGQUEUER_SCHEMA  # read once, when pgqueuer first builds its settings

import asyncpg
import procrastinate
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager
from pgqueuer.domain.types import QueueExecutionMode

# ---- the floor: one statement fires 1 000 deadlines ----

SQL_BATCH = firing_sql(
    "DELETE FROM deadlines WHERE id IN (SELECT id FROM deadlines WHERE due_at <= :now ORDER BY due_at LIMIT 1000 "
    "FOR UPDATE SKIP LOCKED) RETURNING id, subject_id, armed_version"
)


def run_sql_batch(engine: sa.Engine) -> float:
    params = {"now": naive(FIRE_AT), "next": naive(FIRE_AT + NEXT)}
    start = time.perf_counter()
    while True:
        with engine.begin() as conn:
            if conn.execute(sa.text(SQL_BATCH), params).rowcount <= 0:
                return time.perf_counter() - start


# ---- PgQueuer ----

PGQ_FIRE = firing_sql(ONE_DUE.replace(":id", "$1"), now="$2", next="$3")
PGQ_ENTRYPOINT = "fire_deadline"
# The queues get a job for each due deadline only: the not-yet-due rows, which the engine and the
# SQL batch must step over, are left out of theirs, in their favour.
DUE_IDS = "SELECT id FROM deadlines WHERE action = 'auto_approve' AND subject_id < $1 ORDER BY due_at, id LIMIT $2"
POOL = 10  # connections each worker process runs jobs on; PgQueuer dequeues 10 jobs at a time


def _fire_times(live: bool) -> tuple[datetime, datetime]:
    now = datetime.now(UTC) if live else FIRE_AT  # live: the lateness run, on the real clock
    return naive(now), naive(now + NEXT)


async def _asyncpg_connect() -> Any:
    return await asyncpg.connect(LIBPQ_URL, server_settings={"search_path": SCHEMA})


async def pgqueuer_install() -> None:
    conn = await _asyncpg_connect()
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {PGQUEUER_SCHEMA} CASCADE")
        await Queries(AsyncpgDriver(conn)).install()
    finally:
        await conn.close()


async def pgqueuer_enqueue(limit: int, execute_after: list[timedelta] | None = None) -> None:
    """One job per due auto_approve deadline (the first `limit`), its payload the deadline's id;
    execute_after (one per deadline, in due order) defers them, else all are due now. Not timed."""
    conn = await _asyncpg_connect()
    try:
        await conn.execute(f"TRUNCATE {PGQUEUER_SCHEMA}.pgqueuer, {PGQUEUER_SCHEMA}.pgqueuer_log")
        ids = [r["id"] for r in await conn.fetch(DUE_IDS, BOUNDARY["case"], limit)]
        queries = Queries(AsyncpgDriver(conn))
        for i in range(0, len(ids), 10_000):
            chunk = ids[i : i + 10_000]
            after = execute_after[i : i + len(chunk)] if execute_after else [None] * len(chunk)
            await queries.enqueue(
                [PGQ_ENTRYPOINT] * len(chunk), [str(x).encode() for x in chunk], [0] * len(chunk), after
            )
    finally:
        await conn.close()


async def _pgqueuer_consume(ready: Any, live: bool) -> None:
    conn = await _asyncpg_connect()
    pool = await asyncpg.create_pool(LIBPQ_URL, server_settings={"search_path": SCHEMA}, min_size=POOL, max_size=POOL)
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint(PGQ_ENTRYPOINT)
    async def fire_deadline(job: Job) -> None:
        now, after = _fire_times(live)
        async with pool.acquire() as c:
            await c.execute(PGQ_FIRE, int(job.payload or b"0"), now, after)

    ready.wait()
    try:
        await qm.run(mode=QueueExecutionMode.drain, batch_size=10)
    finally:
        await pool.close()


def _pgqueuer_worker(index: int, ready: Any, live: bool) -> None:
    asyncio.run(_pgqueuer_consume(ready, live))


def run_pgqueuer(workers: int, live: bool = False) -> float:
    """Drain the enqueued jobs with `workers` consumer processes; seconds taken."""
    return timed_processes(_pgqueuer_worker, workers, live)


def pgqueuer_lateness_arrange(engine: sa.Engine, rate: float, lead: float, count: int) -> None:
    """Defer the jobs so they fall due at `rate` a second from `lead` seconds on, and note each
    job's due time as the database set it (NOW() of the enqueue plus execute_after)."""
    asyncio.run(pgqueuer_enqueue(count, [timedelta(seconds=lead + i / rate) for i in range(count)]))
    record_due(
        engine,
        f"""SELECT d.subject_id, q.execute_after AT TIME ZONE 'UTC'
                          FROM {PGQUEUER_SCHEMA}.pgqueuer q JOIN deadlines d ON d.id = convert_from(q.payload, 'UTF8')::bigint""",
    )


# ---- procrastinate ----

PROC_FIRE = firing_sql(ONE_DUE.replace(":id", "%(id)s"), now="%(now)s", next="%(next)s")
PROC_URL = f"{LIBPQ_URL}{'&' if '?' in LIBPQ_URL else '?'}options=-csearch_path%3D{PROCRASTINATE_SCHEMA}%2C{SCHEMA}"
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=PROC_URL, min_size=1, max_size=POOL + 2))


@app.task(name="fire_deadline", pass_context=True)
async def fire_deadline(context: procrastinate.JobContext, deadline_id: int) -> None:
    now, after = _fire_times(False)
    async with context.app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
        await conn.execute(PROC_FIRE, {"id": deadline_id, "now": now, "next": after})


async def _procrastinate_install() -> None:
    async with app.open_async():
        await app.connector.execute_query_async(  # type: ignore[attr-defined]
            f"DROP SCHEMA IF EXISTS {PROCRASTINATE_SCHEMA} CASCADE; CREATE SCHEMA {PROCRASTINATE_SCHEMA}"
        )
        await app.schema_manager.apply_schema_async()


def procrastinate_install() -> None:
    asyncio.run(_procrastinate_install())


async def _procrastinate_defer(limit: int) -> None:
    async with app.open_async():
        await app.connector.execute_query_async(  # type: ignore[attr-defined]
            "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
        )
        rows = await app.connector.execute_query_all_async(  # type: ignore[attr-defined]
            DUE_IDS.replace("$1", "%(boundary)s").replace("$2", "%(limit)s"), boundary=BOUNDARY["case"], limit=limit
        )
        ids = [r["id"] for r in rows]
        due = datetime.now(UTC)  # scheduled for now: by the time workers start, all are due
        for i in range(0, len(ids), 5_000):
            await fire_deadline.configure(schedule_at=due).batch_defer_async(
                *({"deadline_id": x} for x in ids[i : i + 5_000])
            )


def procrastinate_defer(limit: int) -> None:
    """One job per due deadline (the first `limit`), scheduled at its due time. Not timed."""
    asyncio.run(_procrastinate_defer(limit))


async def _procrastinate_consume(ready: Any) -> None:
    async with app.open_async():
        ready.wait()
        await app.run_worker_async(
            concurrency=POOL, wait=False, install_signal_handlers=False, fetch_job_polling_interval=0.1
        )


def _procrastinate_worker(index: int, ready: Any) -> None:
    asyncio.run(_procrastinate_consume(ready))


def run_procrastinate(workers: int) -> float:
    return timed_processes(_procrastinate_worker, workers)
