"""Scale: N after-sales cases loaded with COPY, then the API's own listing and case pages timed.

Loads N orders and cases (default 10 million) with their events, live deadlines and the disputes
of the escalated ones, spread like a real marketplace: two years of history, a few large shops
and a long tail (merchant rank ~ u^3 of 20 000), most cases closed, the last 20 days still live.
Then `aftersales serve` answers, over real HTTP, the pages people open all day, each asked many
times: a merchant's queue (first page by status, and a deep keyset page of a big shop), the
agents' dispute queue (by status, by assignee, SLA breached), and a case page (the case and its
events). Target: every p95 under 20 ms. Then the deadline worker fires the live cases' deadlines
(its clock moved past them all) and the firing rate is reported. On PostgreSQL events are
partitioned by month (store/partitions.py): the two years get their months before the load.
Reports the database size per million cases. The last line is JSON.

    python bench/scale.py --quick            # 200 000 cases
    python bench/scale.py -n 1000000
    python bench/scale.py -n 1000000 --events-per-case 10   # 10 million events
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_harness import SECRET, auth, bench_name, fresh_schema, machine_load, schema_url, serve, summary_ms
from aftersales.config import Settings
from aftersales.domain.clock import ManualClock
from aftersales.domain.ids import new_id
from aftersales.runtime import Runtime
from aftersales.services import cases, disputes
from aftersales.services.context import Actor, scope
from aftersales.services.pages import encode, page
from aftersales.store import migrate, partitions
from aftersales.store import tables as t
from aftersales.store.database import create_engine
from aftersales.store.unit_of_work import UnitOfWork
from aftersales.worker.engine import DeadlineEngine

SCHEMA = bench_name("aftersales_bench_scale")
MERCHANTS, BUYERS, AGENTS = 20_000, 2_000_000, 40
HISTORY_DAYS, LIVE_DAYS = 730, 20
ITEMS = '[{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 9900}]'
LIVE = [
    ("pending_merchant", 0.30),
    ("awaiting_return", 0.20),
    ("return_shipped", 0.15),
    ("rejected", 0.05),
    ("in_intervention", 0.05),
    ("refunded", 0.20),
    ("closed", 0.05),
]
DONE = [("refunded", 0.72), ("closed", 0.22), ("completed", 0.03), ("in_intervention", 0.03)]
EVENTS = {
    "pending_merchant": ["file"],
    "awaiting_return": ["file", "approve"],
    "return_shipped": ["file", "approve", "ship_return"],
    "rejected": ["file", "reject"],
    "in_intervention": ["file", "reject", "escalate"],
    "closed": ["file", "withdraw"],
    "refunded": ["file", "approve", "ship_return", "confirm_receipt"],
    "completed": ["file", "approve", "ship_return", "confirm_receipt", "confirm_exchange"],
    "ruled": ["file", "reject", "escalate", "platform_refund"],
}  # refunded by a platform ruling
ROLES = {"approve": "merchant", "reject": "merchant", "confirm_receipt": "merchant", "platform_refund": "agent"}
TIMERS = {
    "pending_merchant": ("auto_approve", 2),
    "awaiting_return": ("auto_close", 7),
    "return_shipped": ("auto_confirm_receipt", 10),
    "rejected": ("auto_close", 7),
    "in_intervention": ("ruling_overdue", 3),
}
ORDER_COLS = (
    "id, buyer_id, merchant_id, payment_method, currency, shipping_fee, items, goods_total, discount, units, status, "
    "policy, paid_amount, refunded_amount, carrier, tracking_number, paid_at, shipped_at, "
    "delivered_at, completed_at, extra, version, created_at, updated_at"
)
CASE_COLS = (
    "id, order_id, buyer_id, merchant_id, payment_method, type, reason, items, amount, currency, status, policy, "
    "description, evidence, deadline_action, deadline_due_at, return_address, return_carrier, "
    "return_tracking, dispute_id, closed_at, extra, version, created_at, updated_at"
)
DISPUTE_COLS = (
    "id, after_sale_id, order_id, buyer_id, merchant_id, kind, status, policy, opened_by, reason, "
    "statements, assignee, ruling_due_at, sla_breached, evidence_due, outcome, amount, liable_party, "
    "extra, version, created_at, updated_at"
)
EVENT_COLS = "subject_kind, subject_id, action, actor_role, actor_id, at, before, after, data"
DEADLINE_COLS = "subject_kind, subject_id, action, due_at, armed_version, created_at"
TABLES = ("orders", "after_sales", "disputes", "events", "deadlines")


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    u, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if u < acc:
            return value
    return table[-1][0]


def generate(n: int, now: datetime, seed: int = 7, per_case: int = 0) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for n cases in creation order, with their orders, events, deadlines, disputes.
    `per_case`: events a case has at least, its lifecycle's followed by negotiation messages."""
    rng = random.Random(seed)
    now = now.astimezone(UTC).replace(tzinfo=None)  # the columns hold naive UTC (store/types.py)
    start = now - timedelta(days=HISTORY_DAYS)
    step = timedelta(days=HISTORY_DAYS) / n
    for g in range(n):
        at = start + step * g
        live = now - at < timedelta(days=LIVE_DAYS)
        status = _pick(rng, LIVE if live else DONE)
        path = status
        if status == "in_intervention" and not live:
            status, path = "refunded", "ruled"  # an old escalation was ruled long ago; its dispute is final
            disputed = "final"
        else:
            disputed = rng.choice(("applied", "open", "under_review")) if status == "in_intervention" else None
        merchant = f"m-{int(MERCHANTS * rng.random() ** 3)}"
        buyer = f"b-{rng.randrange(BUYERS)}"
        case_type = (
            "refund_only"
            if status in ("pending_merchant", "rejected") and rng.random() < 0.4
            else ("exchange" if status == "completed" else "return_refund")
        )
        order_id, case_id = f"o-{g}", new_id("as", at.replace(tzinfo=UTC))
        ordered = at - timedelta(days=rng.uniform(3, 12))
        terminal = status in ("refunded", "closed", "completed")
        # The order's two units (domain/lines.py): held by the open case, else done when the goods
        # came back or were refunded, else free again (a withdrawn request).
        refunded, done = (9900, True) if status == "refunded" else (0, status == "completed")
        lot = {"n": 2, "paid": 9900, "refunded": refunded, "case": None if terminal else case_id, "done": done}
        units = json.dumps({"tea-250g": [lot]})
        yield (
            "orders",
            (
                order_id,
                buyer,
                merchant,
                "online",
                "CNY",
                1000,
                ITEMS,
                19800,
                0,
                units,
                "delivered",
                "douyin@1",
                20800,
                19800 if status == "refunded" else 0,
                "SF",
                f"SF{g}",
                ordered,
                ordered + timedelta(days=1),
                ordered + timedelta(days=3),
                None,
                "{}",
                5,
                ordered,
                at,
            ),
        )
        timer = TIMERS.get(status)
        due = at + timedelta(days=timer[1]) if timer else None
        dispute_id = new_id("dp", at.replace(tzinfo=UTC)) if disputed else None
        actions = EVENTS[path]
        returned = "ship_return" in actions
        yield (
            "after_sales",
            (
                case_id,
                order_id,
                buyer,
                merchant,
                "online",
                case_type,
                "quality_problem",
                ITEMS,
                19800,
                "CNY",
                status,
                "douyin@1",
                "茶叶受潮结块",
                "[]",
                timer and timer[0],
                due,
                "杭州市西湖区龙井路 18 号" if "approve" in actions else None,
                "ZTO" if returned else None,
                f"ZT{g}" if returned else None,
                dispute_id,
                at + timedelta(days=6) if terminal else None,
                "{}",
                len(actions),
                at,
                at,
            ),
        )
        talk = ["message"] * max(0, per_case - len(actions))
        for i, action in enumerate(actions + talk):
            role = ROLES.get(action, "buyer") if action != "message" else ("buyer", "merchant")[i % 2]
            actor = {"merchant": merchant, "agent": "ag-0"}.get(role, buyer)
            yield (
                "events",
                (
                    "after_sale",
                    case_id,
                    action,
                    role,
                    actor,
                    at + timedelta(hours=6 * i),
                    "{}",
                    f'{{"status": "{status}"}}',
                    "{}",
                ),
            )
        if timer:
            yield "deadlines", ("after_sale", case_id, timer[0], due, len(actions), at)
        if disputed:
            assignee = None if disputed == "applied" else f"ag-{rng.randrange(AGENTS)}"
            ruling_due = at + timedelta(days=3)
            yield (
                "disputes",
                (
                    dispute_id,
                    case_id,
                    order_id,
                    buyer,
                    merchant,
                    "intervention",
                    disputed,
                    "douyin@1",
                    "buyer",
                    "quality_problem",
                    "[]",
                    assignee,
                    ruling_due,
                    disputed != "final" and ruling_due < now,
                    "{}",
                    "refund" if disputed == "final" else None,
                    19800 if disputed == "final" else None,
                    "merchant" if disputed == "final" else None,
                    "{}",
                    3,
                    at,
                    at,
                ),
            )


def partition_history(engine: sa.Engine, now: datetime) -> int:
    """Give every month of the history its partition (as the worker would have, month by month),
    so the load lands in them and not in the default partition; the months created."""
    with engine.begin() as conn:
        month = partitions.month_of(now - timedelta(days=HISTORY_DAYS + 30))
        made = 0
        while month < partitions.month_of(now):
            made += sum(partitions.create_month(conn, table, month) for table in partitions.KEYS)
            month = partitions.add_months(month, 1)
        made += len(partitions.maintain(conn, now).created)
    return made


def firing_rate(engine: sa.Engine, now: datetime, most: int) -> dict[str, float]:
    """Fire up to `most` of the live cases' deadlines with the worker's own code (its clock past
    them all), batch after batch; the rate, wall and this process's CPU per deadline."""
    settings = Settings(
        data_dir=Path(tempfile.gettempdir()) / f"{SCHEMA}-data",
        database_url=schema_url(SCHEMA),
        jwt_secret=SECRET,
        simulated_clock=False,
        demo=False,
    )
    clock = ManualClock(now + timedelta(days=max(days for _, days in TIMERS.values()) + 1))
    worker = DeadlineEngine(engine, Runtime.build(settings, clock=clock, engine=engine).env, "bench-scale")
    began, cpu = time.perf_counter(), time.process_time()
    while worker.stats.taken < most:
        before = worker.stats.taken
        worker.run_once()
        if worker.stats.taken - before < worker.batch_size:
            break  # a short batch: nothing more is due
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    taken = worker.stats.taken
    return {
        "taken": taken,
        "fired": worker.stats.fired,
        "per_s": round(taken / seconds, 1) if seconds else 0.0,
        "client_cpu_ms_per_deadline": round(cpu * 1000 / taken, 3) if taken else 0.0,
    }


def load(engine: sa.Engine, n: int, now: datetime, per_case: int = 0) -> float:
    """COPY the generated rows, one COPY per table, in one transaction; seconds taken (with ANALYZE)."""
    columns = {
        "orders": ORDER_COLS,
        "after_sales": CASE_COLS,
        "disputes": DISPUTE_COLS,
        "events": EVENT_COLS,
        "deadlines": DEADLINE_COLS,
    }
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            # The rows are consistent by construction: no per-row foreign-key trigger (whose cached
            # plan, made while the tables looked empty, would scan the parent table for every row).
            cur.execute("SET LOCAL session_replication_role = replica")
            # COPY streams are one per table: buffer rows per table, flush in chunks in FK order.
            buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}

            def flush(table: str) -> None:
                with cur.copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                    for row in buffers[table]:
                        copy.write_row(row)
                buffers[table].clear()

            for i, (table, row) in enumerate(generate(n, now, per_case=per_case)):
                buffers[table].append(row)
                if i % 500_000 == 499_999:
                    for name in TABLES:
                        flush(name)
            for name in TABLES:
                flush(name)
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _partitions(engine: sa.Engine) -> list[datetime]:
    with engine.connect() as conn:
        return partitions.months_held(conn, "events")


def sizes(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        # A partitioned table's own size is nil: its partitions hold the rows (a plain table has
        # no partition tree).
        size = (
            "SELECT coalesce((SELECT sum(pg_total_relation_size(relid))::bigint "
            "FROM pg_partition_tree(CAST(:t AS regclass))), pg_total_relation_size(CAST(:t AS regclass)))"
        )
        return {name: conn.execute(sa.text(size), {"t": name}).scalar_one() for name in TABLES}


def time_get(
    client: httpx.Client, times: int, request: Callable[[int], list[tuple[str, dict[str, str]]]]
) -> dict[str, float]:
    """p50/p95/p99 of `times` rounds; one round may be several GETs (a case page: case + events)."""
    seconds = []
    for i in range(times):
        began = time.perf_counter()
        for path, headers in request(i):
            r = client.get(path, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
        seconds.append(time.perf_counter() - began)
    return summary_ms(seconds)


def explain(engine: sa.Engine, runs: int, work: Callable[[UnitOfWork, int], Any]) -> tuple[dict[str, float], str]:
    """Server-side execution time of the statements `work` runs (the API's own code), as EXPLAIN
    ANALYZE measures it: the part of a page that grows with the data. Also the plan's access path."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        captured.append((statement, params))

    seconds = []
    for i in range(runs):
        captured.clear()
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            with UnitOfWork(engine) as uow:
                work(uow, i)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        total, paths = 0.0, []
        with engine.connect() as conn:
            for statement, params in captured:
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).scalar_one()
                total += plan[0]["Execution Time"] / 1000
                paths.append(_access(plan[0]["Plan"]))
        seconds.append(total)
    return summary_ms(seconds), "; ".join(paths)


def _access(node: dict[str, Any]) -> str:
    """The plan's first scan, with its index: what a reader checks first."""
    if "Scan" in node["Node Type"]:
        return f"{node['Node Type']} {node.get('Index Name', node.get('Relation Name', ''))}".strip()
    sort = "Sort > " if node["Node Type"] in ("Sort", "Incremental Sort") else ""
    return sort + _access(node["Plans"][0]) if node.get("Plans") else node["Node Type"]


def deep_cursor(engine: sa.Engine, merchant: str, status: str | None) -> tuple[str, int]:
    """The cursor of a page half-way down a merchant's list (found once, by OFFSET, outside the timing)."""
    where = "merchant_id = :m" + (" AND status = :s" if status else "")
    with engine.connect() as conn:
        total = conn.execute(
            sa.text(f"SELECT count(*) FROM after_sales WHERE {where}"), {"m": merchant, "s": status}
        ).scalar_one()
        row = conn.execute(
            sa.text(
                f"SELECT created_at, id FROM after_sales WHERE {where} ORDER BY created_at DESC, "
                "id DESC OFFSET :k LIMIT 1"
            ),
            {"m": merchant, "s": status, "k": total // 2},
        ).one()
    return encode(row.created_at.replace(tzinfo=UTC), row.id), total


def kept_schema(schema: str, n: int) -> sa.Engine | None:
    """The schema of an earlier run holding n cases, migrated to head (e.g. a new index); else None."""
    engine = create_engine(schema_url(schema))
    try:
        with engine.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM after_sales")).scalar_one()
    except sa.exc.ProgrammingError:
        held = None
    if held != n:
        engine.dispose()
        return None
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    print(f"kept the {n:,} cases of an earlier run (load time not measured again)")
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000_000, help="cases")
    parser.add_argument("--times", type=int, default=300, help="requests per page measured")
    parser.add_argument("--quick", action="store_true", help="-n 200000 --times 100")
    parser.add_argument("--keep", action="store_true", help="reuse the loaded schema if it holds -n cases")
    parser.add_argument("--events-per-case", type=int, default=0, help="pad each case to this many events (e.g. 10)")
    parser.add_argument("--fire", type=int, default=20_000, help="deadlines fired at most to measure the rate")
    args = parser.parse_args()
    n, times = (200_000, 100) if args.quick else (args.n, args.times)
    print(f"machine: {machine_load()}")
    now = datetime.now(UTC)  # the server reads the system clock: live cases are live now

    engine, seconds = kept_schema(SCHEMA, n) if args.keep else None, 0.0
    if engine is None:
        engine = fresh_schema(SCHEMA)
        print(f"partitions made before the load: {partition_history(engine, now)} (events and outbox, by month)")
        seconds = load(engine, n, now, args.events_per_case)
    size = sizes(engine)
    with engine.connect() as conn:
        counts = {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() for name in TABLES}
    total = sum(size.values())
    if seconds:
        print(
            f"loaded {n:,} cases in {seconds:.1f}s ({n / seconds:,.0f} cases/s; COPY with the indexes in place, "
            "then VACUUM ANALYZE)"
        )
    print("rows: " + ", ".join(f"{name} {c:,}" for name, c in counts.items()))
    print(
        f"size: {total / 2**20:,.0f} MiB = {total / 2**20 / (n / 1e6):,.0f} MiB per million cases ("
        + ", ".join(f"{name} {b / 2**20:,.0f}" for name, b in size.items())
        + " MiB, tables with indexes and TOAST)"
    )

    big = "m-0"
    with engine.connect() as conn:
        big_cases = conn.execute(
            sa.text("SELECT count(*) FROM after_sales WHERE merchant_id = :m"), {"m": big}
        ).scalar_one()
        case_rows = conn.execute(
            sa.text("SELECT id, buyer_id FROM after_sales ORDER BY random() LIMIT :k"), {"k": times}
        ).all()
        busy_agent = conn.execute(
            sa.text(
                "SELECT assignee FROM disputes WHERE status = 'under_review' "
                "GROUP BY assignee ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    deep_all, _ = deep_cursor(engine, big, None)
    deep_refunded, refunded = deep_cursor(engine, big, "refunded")
    merchants = [f"m-{i}" for i in (0, 1, 10, 100, 1000)]
    heads = {m: auth("merchant", f"{m}-staff", m) for m in merchants}
    case_pages = [(f"/v1/after-sales/{c.id}", auth("buyer", c.buyer_id)) for c in case_rows]
    agent = auth("agent", busy_agent)
    print(f"the biggest shop {big} has {big_cases:,} cases ({refunded:,} refunded); agent {busy_agent} is the busiest")

    pages: dict[str, Callable[[int], list[tuple[str, dict[str, str]]]]] = {
        "merchant_queue_pending": lambda i: [
            ("/v1/after-sales?status=pending_merchant&limit=50", heads[merchants[i % len(merchants)]])
        ],
        "merchant_queue_all": lambda i: [("/v1/after-sales?limit=50", heads[merchants[i % len(merchants)]])],
        "merchant_deep_page_all": lambda i: [(f"/v1/after-sales?limit=50&cursor={deep_all}", heads[big])],
        "merchant_deep_page_refunded": lambda i: [
            (f"/v1/after-sales?status=refunded&limit=50&cursor={deep_refunded}", heads[big])
        ],
        "agent_queue_open": lambda i: [("/v1/disputes?status=open&limit=50", agent)],
        "agent_queue_mine": lambda i: [(f"/v1/disputes?assignee={busy_agent}&status=under_review&limit=50", agent)],
        "agent_queue_sla_breached": lambda i: [("/v1/disputes?sla=breached&limit=50", agent)],
        "case_page": lambda i: [
            case_pages[i % len(case_pages)],
            (case_pages[i % len(case_pages)][0] + "/events", case_pages[i % len(case_pages)][1]),
        ],
    }
    big_m, agent_a = Actor("merchant", f"{big}-staff", big), Actor("agent", busy_agent)
    now = datetime.now(UTC)
    ac, dt = t.after_sales, t.disputes
    sql: dict[str, Callable[[UnitOfWork, int], Any]] = {  # the same service calls the routes make
        "merchant_queue_pending": lambda uow, i: page(
            uow.conn, ac, scope(big_m, ac.c, status="pending_merchant"), None, 50
        ),
        "merchant_queue_all": lambda uow, i: page(uow.conn, ac, scope(big_m, ac.c), None, 50),
        "merchant_deep_page_all": lambda uow, i: page(uow.conn, ac, scope(big_m, ac.c), deep_all, 50),
        "merchant_deep_page_refunded": lambda uow, i: page(
            uow.conn, ac, scope(big_m, ac.c, status="refunded"), deep_refunded, 50
        ),
        "agent_queue_open": lambda uow, i: page(
            uow.conn, dt, disputes.queue_filters(agent_a, now, status="open"), None, 50, newest_first=False
        ),
        "agent_queue_mine": lambda uow, i: page(
            uow.conn,
            dt,
            disputes.queue_filters(agent_a, now, assignee=busy_agent, status="under_review"),
            None,
            50,
            newest_first=False,
        ),
        "agent_queue_sla_breached": lambda uow, i: page(
            uow.conn, dt, disputes.queue_filters(agent_a, now, sla="breached"), None, 50, newest_first=False
        ),
        "case_page": lambda uow, i: uow.events.for_subject(
            "after_sale",
            cases.get(uow, Actor("buyer", case_rows[i % len(case_rows)].buyer_id), case_rows[i % len(case_rows)].id).id,
        ),
    }
    print(
        f"in the database (EXPLAIN ANALYZE of the statements the API's code runs, {min(times, 50)} times; "
        f"the big shop {big}):"
    )
    in_db = {name: explain(engine, min(times, 50), work) for name, work in sql.items()}
    for name, (r, plan) in in_db.items():
        print(f"  {name:30s} p50 {r['p50']:6.2f} ms  p95 {r['p95']:6.2f} ms   {plan}")

    results = {}
    print(f"over HTTP (aftersales serve, one process; {times} requests each, one at a time):")
    with (
        serve(SCHEMA, 1, Path(f"/tmp/{SCHEMA}-serve.log")) as server,
        httpx.Client(base_url=server.base, timeout=30) as client,
    ):
        for name, request in pages.items():
            time_get(client, 5, request)  # warm the connection and the plan cache
            results[name] = time_get(client, times, request)
            r = results[name]
            print(
                f"  {name:30s} p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms"
                f"{'' if r['p95'] < 20 else '  <-- over 20 ms'}"
            )
    print(f"deadline firing (the worker's code, batches of 500, up to {args.fire:,}); machine: {machine_load()}")
    firing = firing_rate(engine, now, args.fire)
    print(
        f"  {firing['taken']:,} taken, {firing['fired']:,} fired: {firing['per_s']:,.0f}/s, "
        f"{firing['client_cpu_ms_per_deadline']} ms of the worker's CPU each"
    )
    print(f"machine after: {machine_load()}")
    worst = max(r["p95"] for r in results.values())
    worst_db = max(r["p95"] for r, _ in in_db.values())
    print(
        json.dumps(
            {
                "benchmark": "scale",
                "cases": n,
                "events": counts["events"],
                "events_partitions": len(_partitions(engine)),
                "firing_per_s": firing["per_s"],
                "firing_client_cpu_ms": firing["client_cpu_ms_per_deadline"],
                "load_s": round(seconds, 1),
                "mib_per_million_cases": round(total / 2**20 / (n / 1e6)),
                "worst_p95_ms": worst,
                "worst_p95_vs_20ms": round(worst / 20, 3),
                "worst_db_p95_ms": worst_db,
                "worst_db_p95_vs_20ms": round(worst_db / 20, 4),
                **{f"{k}_p95_ms": v["p95"] for k, v in results.items()},
                **{f"{k}_db_p95_ms": v["p95"] for k, (v, _) in in_db.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
