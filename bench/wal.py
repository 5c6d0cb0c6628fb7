"""What one action costs the database: WAL, PostgreSQL CPU and disk per filed case, per approval
and per deadline firing, against a plain one-row INSERT per transaction (docs/scaling.md sums it).

In a database of this benchmark's own (pg_walinspect is created there), one phase at a time,
each action in a transaction of its own through the service layer, the code every API request
runs (no HTTP: bench/api.py measures that part):

- order: the marketplace feeds N orders, each created, paid, shipped and delivered
  (`orders.create`, `orders.act`: four actions an order);
- file: the buyer files a return_refund on each order (`cases.file`);
- approve: the merchant approves the first half with a return address (`cases.act`);
- fire: the other half's auto_approve deadlines fire in the deadline engine
  (`DeadlineEngine.run_until_idle`, its batches of 500), the clock moved past them;
- raw (baseline): the row of each filed case inserted again under another id, one `INSERT …
  SELECT` and one commit per row through the bare driver: what a commit of one indexed row costs
  this machine, with nothing of the application's around it.

WAL is counted by transaction: each one's xid is read before it commits, and the records of those
xids between the phase's first and last LSN are summed (pg_walinspect), so what other sessions
write to the same server meanwhile is not counted (a temporary replication slot keeps the WAL
until it is read). Full-page images (the first change of a page after a checkpoint) are shown
apart: how many there are depends on where checkpoints fell.
PostgreSQL CPU is the benchmark's own backends' (/proc, loopback only). The last line is JSON.

    python bench/wal.py --quick      # 2 000 orders
    python bench/wal.py -n 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_harness import BASE, SECRET, bench_name, machine_load
from aftersales.config import Settings
from aftersales.domain.clock import ManualClock
from aftersales.runtime import Runtime
from aftersales.services import cases, orders
from aftersales.services.context import Actor
from aftersales.store import migrate
from aftersales.store import tables as t
from aftersales.store.database import create_engine
from aftersales.store.unit_of_work import UnitOfWork
from aftersales.worker.engine import DeadlineEngine
from api import BUYERS, MERCHANTS, ORDER

DATABASE = bench_name("aftersales_bench_wal")
XID = sa.text("SELECT xid(pg_current_xact_id_if_assigned())::text")
LSN = sa.text("SELECT pg_current_wal_lsn()::text")
RECORDS = "FROM pg_get_wal_records_info(CAST(:start AS pg_lsn), CAST(:end AS pg_lsn)) WHERE xid::text = ANY(:xids)"
WAL_OF = sa.text(f"SELECT count(*), coalesce(sum(record_length), 0), coalesce(sum(fpi_length), 0) {RECORDS}")
# What runs under a savepoint writes under a subtransaction's xid, which its commit record lists.
COMMITS = sa.text(f"SELECT description {RECORDS} AND resource_manager = 'Transaction' AND record_type = 'COMMIT'")
SUBXACTS = re.compile(r"subxacts:((?: \d+)+)")
SIZE = sa.text(
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
)
RAW = "INSERT INTO after_sales ({cols}) SELECT {values} FROM after_sales WHERE id = %s"


def fresh_database() -> sa.Engine:
    """Drop and recreate this benchmark's database, migrated to head, with pg_walinspect."""
    with sa.create_engine(BASE, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine = create_engine(sa.make_url(BASE).set(database=DATABASE).render_as_string(hide_password=False))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION pg_walinspect"))
    migrate.upgrade(engine)
    return engine


class Backends:
    """The PostgreSQL backends of an engine's connections, and their CPU seconds so far."""

    def __init__(self, engine: sa.Engine) -> None:
        self.pids: set[int] = set()
        sa.event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids.add(cursor.fetchone()[0])
        dbapi_conn.commit()

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # (a backend whose connection the pool closed)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@dataclasses.dataclass
class Phase:
    name: str
    actions: int
    seconds: float
    python_cpu: float
    postgres_cpu: float
    wal_records: int
    wal_bytes: int
    fpi_bytes: int
    size_bytes: int

    def figures(self) -> dict[str, float]:
        n = max(1, self.actions)
        return {
            "actions": self.actions,
            "per_second": round(self.actions / self.seconds, 1),
            "python_cpu_ms": round(self.python_cpu / n * 1000, 3),
            "postgres_cpu_ms": round(self.postgres_cpu / n * 1000, 3),
            "wal_records": round(self.wal_records / n, 1),
            "wal_bytes": round(self.wal_bytes / n),
            "wal_bytes_without_fpi": round((self.wal_bytes - self.fpi_bytes) / n),
            "disk_bytes": round(self.size_bytes / n),
        }


def measure(engine: sa.Engine, backends: Backends, name: str, work: Callable[[list[str]], int]) -> Phase:
    """Run `work` (which appends the xid of every transaction it commits, and returns the
    number of actions) and account for it."""
    with engine.connect() as conn:
        start, size = conn.execute(LSN).scalar_one(), conn.execute(SIZE).scalar_one()
    xids: list[str] = []
    cpu, pg, wall = time.process_time(), backends.cpu(), time.perf_counter()
    actions = work(xids)
    seconds, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, backends.cpu() - pg
    with engine.connect() as conn:
        end = conn.execute(LSN).scalar_one()
        for description in conn.execute(COMMITS, {"start": start, "end": end, "xids": xids}).scalars().all():
            if found := SUBXACTS.search(description):
                xids += found.group(1).split()
        records, wal, fpi = conn.execute(WAL_OF, {"start": start, "end": end, "xids": xids}).one()
        grown = conn.execute(SIZE).scalar_one() - size
    return Phase(name, actions, seconds, cpu, pg, records, int(wal), int(fpi), int(grown))


def feed(runtime: Runtime, n: int, xids: list[str]) -> list[Actor]:
    """`n` orders fed as the marketplace feeds them, four actions each; each order's buyer."""
    market, buyers = Actor("integration", "marketplace"), []
    ship = {"carrier": "SF", "tracking_number": "SF-0"}
    for i in range(n):
        order = {**ORDER, "id": f"o-{i}", "buyer_id": f"b-{i % BUYERS}", "merchant_id": f"m-{i % MERCHANTS}"}
        for action, inputs in (("create", None), ("pay", None), ("ship", ship), ("deliver", None)):
            with runtime.uow() as uow:
                if action == "create":
                    orders.create(uow, runtime.env, market, order)
                else:
                    orders.act(uow, runtime.env, market, order["id"], action, inputs)
                committing(uow, xids)
        buyers.append(Actor("buyer", order["buyer_id"]))
    return buyers


def committing(uow: UnitOfWork, xids: list[str]) -> None:
    xids.append(uow.execute(XID).scalar_one())
    uow.commit()


class CountedEngine(DeadlineEngine):
    """The deadline engine, noting each batch's xid before it commits (the firing is unchanged)."""

    def __init__(self, *args: Any, xids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.xids = xids

    def fire(self, uow: UnitOfWork, rows: list[Any]) -> int:
        fired = super().fire(uow, rows)
        if rows:
            self.xids.append(uow.execute(XID).scalar_one())
        return fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="orders, each filed on (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="-n 2000")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.n
    print(f"machine: {machine_load()}")
    engine = fresh_database()
    backends = Backends(engine)
    engine.dispose()  # (the migration's connections were opened before their backends were noted)
    settings = Settings(
        data_dir=Path(f"/tmp/{DATABASE}-data"),
        database_url=engine.url.render_as_string(hide_password=False),
        jwt_secret=SECRET,
        simulated_clock=False,
        demo=False,
    )
    runtime = Runtime.build(settings, engine=engine)
    # A temporary slot keeps the WAL from here on until this session ends (with the process at
    # the latest): other sessions' writes may otherwise recycle it before a phase's is counted.
    slot = engine.connect()
    slot.execute(sa.text("SELECT pg_create_physical_replication_slot(:name, true, true)"), {"name": DATABASE})
    buyers: list[Actor] = []
    filed: list[str] = []

    def order(xids: list[str]) -> int:
        buyers.extend(feed(runtime, n, xids))
        return 4 * n

    def file(xids: list[str]) -> int:
        for i, buyer in enumerate(buyers):
            with runtime.uow() as uow:
                inputs = {"order_id": f"o-{i}", "type": "return_refund", "reason": "damaged"}
                filed.append(cases.file(uow, runtime.env, buyer, inputs).id)
                committing(uow, xids)
        return len(filed)

    half = n // 2

    def approve(xids: list[str]) -> int:
        for i, case_id in enumerate(filed[:half]):
            with runtime.uow() as uow:
                merchant = Actor("merchant", "ops", merchant_id=f"m-{i % MERCHANTS}")
                cases.act(uow, runtime.env, merchant, case_id, "approve", {"return_address": "杭州市西湖区 1 号"})
                committing(uow, xids)
        return half

    def fire(xids: list[str]) -> int:
        with engine.connect() as conn:
            a = t.after_sales.c
            due = conn.execute(sa.select(sa.func.max(a.deadline_due_at)).where(a.status == "pending_merchant"))
            later = due.scalar_one() + timedelta(seconds=1)
        env = dataclasses.replace(runtime.env, clock=ManualClock(later))
        worker = CountedEngine(engine, env, "bench-wal", xids=xids)
        return worker.run_until_idle()

    def raw(xids: list[str]) -> int:
        columns = [c.name for c in t.after_sales.c]
        values = ", ".join("id || 'r'" if c == "id" else c for c in columns)
        statement = RAW.format(cols=", ".join(columns), values=values)
        conn = engine.raw_connection()
        cursor = conn.cursor()
        try:
            for case_id in filed:
                cursor.execute(statement, (case_id,))
                cursor.execute(XID.text)
                xids.append(cursor.fetchone()[0])
                conn.commit()
        finally:
            cursor.close()
            conn.close()
        return len(filed)

    work = (("order", order), ("file", file), ("approve", approve), ("fire", fire), ("raw", raw))
    phases = [measure(engine, backends, name, phase) for name, phase in work]
    print(f"{n:,} orders; one transaction per action (the engine's firing: one per batch of 500)")
    print(
        f"  {'phase':8s} {'actions':>8s} {'per s':>8s} {'py CPU':>9s} {'pg CPU':>9s} "
        f"{'WAL rec':>8s} {'WAL B':>7s} {'no FPI':>7s} {'disk B':>7s}"
    )
    results = {}
    for phase in phases:
        f = results[phase.name] = phase.figures()
        print(
            f"  {phase.name:8s} {f['actions']:8,} {f['per_second']:8,.0f} {f['python_cpu_ms']:6.2f} ms "
            f"{f['postgres_cpu_ms']:6.2f} ms {f['wal_records']:8.1f} {f['wal_bytes']:7,} "
            f"{f['wal_bytes_without_fpi']:7,} {f['disk_bytes']:7,}"
        )
    print("  (per action: CPU of this process and of its PostgreSQL backends, WAL records and bytes, disk grown)")
    print(f"machine after: {machine_load()}")
    ratio = results["file"]["per_second"] / results["raw"]["per_second"]
    print(json.dumps({"benchmark": "wal", "n": n, "file_vs_raw": round(ratio, 3), "phases": results}))
    slot.close()
    engine.dispose()


if __name__ == "__main__":
    main()
