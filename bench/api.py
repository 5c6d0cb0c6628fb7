"""The API under load: `aftersales serve --workers N` on PostgreSQL against pgbench's TPC-B.

A load generator (this process, asyncio with a lean HTTP/1.1 client: it shares the cores with
the server, so it must cost little; loopback only) drives a realistic mix through
the real server: each virtual user takes a delivered order and walks its return-and-refund case
through file, read case, approve, merchant queue, ship-return, confirm-receipt (6 actions, POSTs
with an Idempotency-Key as a careful client sends). Orders are fed beforehand (one made through
the services, then copied by SQL): feeding is the marketplace's traffic, not the mix.

It reports completed actions/s and p50/p95/p99 latency at increasing concurrency; then runs at
half the peak rate (paced, latency counted from each request's scheduled start so a stall is not
hidden) and reports p99 there. In the same run, right after each level, pgbench's built-in
TPC-B-like script runs with the same client count on a database of its own: the reference for
what this PostgreSQL does on this machine at that moment.
The last line is JSON.

    python bench/api.py --quick                 # clients 1,8,32, 6 s each: under 2 minutes
    python bench/api.py --clients 1,4,16,32 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Connection
from _server_harness import (
    BASE,
    Server,
    auth,
    bench_name,
    cpu_seconds,
    fresh_runtime,
    machine_load,
    serve,
    summary_ms,
)
from aftersales.services import orders
from aftersales.services.context import Actor
from aftersales.store import tables

SCHEMA = bench_name("aftersales_bench_api")
PGBENCH_DB = bench_name("aftersales_bench_pgbench")
MERCHANTS, BUYERS = 50, 5000
ORDER = {
    "buyer_id": "b-0",
    "merchant_id": "m-0",
    "payment_method": "online",
    "currency": "CNY",
    "shipping_fee": 1000,
    "items": [{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 9900}],
}
# Copies of the template order: every column as the services wrote it, but for who and which.
CHANGED = {
    "id": "'o-' || g",
    "buyer_id": "'b-' || (g % :buyers)",
    "merchant_id": "'m-' || (g % :merchants)",
    "tracking_number": "'SF-' || g",
}
COLUMNS = [c.name for c in tables.orders.c]
CLONE = (
    f"INSERT INTO orders ({', '.join(COLUMNS)}) SELECT {', '.join(CHANGED.get(c, c) for c in COLUMNS)} "
    "FROM orders, generate_series(1, :n) g WHERE id = 'o-template'"
)


def seed(n: int) -> None:
    """`n` delivered orders: one through the real services, the rest copies of its row."""
    runtime = fresh_runtime(SCHEMA)
    engine = runtime.engine
    market = Actor("integration", "marketplace")
    with runtime.uow() as uow:
        orders.create(uow, runtime.env, market, {"id": "o-template", **ORDER})
        orders.act(uow, runtime.env, market, "o-template", "pay")
        orders.act(uow, runtime.env, market, "o-template", "ship", {"carrier": "SF", "tracking_number": "SF-0"})
        orders.act(uow, runtime.env, market, "o-template", "deliver")
        uow.commit()
    with engine.begin() as conn:
        conn.execute(sa.text(CLONE), {"n": n, "buyers": BUYERS, "merchants": MERCHANTS})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


class Load:
    """Virtual users sharing the order supply, the counters and (when paced) a schedule."""

    def __init__(self, base: str, order_ids: itertools.count[int], n_orders: int) -> None:
        self.base, self.order_ids, self.n_orders = base, order_ids, n_orders
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.done = 0
        self.merchant_headers = {f"m-{i}": auth("merchant", f"m-{i}-staff", f"m-{i}") for i in range(MERCHANTS)}
        self.buyer_headers: dict[str, dict[str, str]] = {}
        self.rate: float | None = None
        self.slots = itertools.count()
        self.over = False

    def buyer(self, buyer_id: str) -> dict[str, str]:
        if buyer_id not in self.buyer_headers:
            self.buyer_headers[buyer_id] = auth("buyer", buyer_id)
        return self.buyer_headers[buyer_id]

    async def call(
        self,
        client: Connection,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        expect: int,
        stop_at: float,
        start_at: float,
    ) -> dict[str, Any] | None:
        if self.rate is not None:  # paced: each request has a slot; latency counts from it
            slot = start_at + next(self.slots) / self.rate
            if slot >= stop_at:
                self.over = True  # the schedule is full: no user starts anything more
                return None
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            began = slot
        else:
            began = time.perf_counter()
        if method == "POST":
            headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        status, content = await client.request(method, path, headers, body)
        if status != expect:
            self.errors.append(f"{kind}: {status} {content[:200].decode(errors='replace')}")
            return None
        self.latencies.setdefault(kind, []).append(time.perf_counter() - began)
        self.done += 1
        return content

    async def user(self, start_at: float, stop_at: float) -> None:
        client = Connection(self.base)
        try:
            await self._cases(client, start_at, stop_at)
        finally:
            await client.close()

    async def _cases(self, client: Connection, start_at: float, stop_at: float) -> None:
        while time.perf_counter() < stop_at and not self.over:
            g = next(self.order_ids)
            if g > self.n_orders:
                self.errors.append("ran out of orders: seed more")
                return
            buyer, merchant = self.buyer(f"b-{g % BUYERS}"), self.merchant_headers[f"m-{g % MERCHANTS}"]
            steps = [
                (
                    "file",
                    "POST",
                    "/v1/after-sales",
                    buyer,
                    {
                        "order_id": f"o-{g}",
                        "type": "return_refund",
                        "reason": "quality_problem",
                        "description": "茶叶受潮结块",
                    },
                    201,
                ),
                ("read_case", "GET", "/v1/after-sales/{id}", buyer, None, 200),
                (
                    "approve",
                    "POST",
                    "/v1/after-sales/{id}/approve",
                    merchant,
                    {"return_address": "杭州市西湖区龙井路 18 号"},
                    200,
                ),
                ("merchant_queue", "GET", "/v1/after-sales?status=awaiting_return&limit=20", merchant, None, 200),
                (
                    "ship_return",
                    "POST",
                    "/v1/after-sales/{id}/ship-return",
                    buyer,
                    {"carrier": "ZTO", "tracking_number": f"ZT{g}"},
                    200,
                ),
                ("confirm", "POST", "/v1/after-sales/{id}/confirm-receipt", merchant, None, 200),
            ]
            case_id = ""
            for kind, method, path, headers, body, expect in steps:
                out = await self.call(
                    client, kind, method, path.format(id=case_id), headers, body, expect, stop_at, start_at
                )
                if out is None:
                    break
                case_id = case_id or json.loads(out)["id"]

    async def run(self, clients: int, seconds: float) -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(self.user(start, stop_at) for _ in range(clients)))
        return time.perf_counter() - start


def measure(
    server: Server,
    order_ids: itertools.count[int],
    n_orders: int,
    clients: int,
    seconds: float,
    rate: float | None = None,
) -> dict[str, Any]:
    load = Load(server.base, order_ids, n_orders)
    load.rate = rate
    server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
    elapsed = asyncio.run(load.run(clients, seconds))
    server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
    every = [x for values in load.latencies.values() for x in values]
    done = max(load.done, 1)
    return {
        "clients": clients,
        "actions": load.done,
        "per_s": load.done / elapsed,
        **summary_ms(every),
        "server_cpu_ms": 1000 * server_cpu / done,
        "client_cpu_ms": 1000 * client_cpu / done,
        "errors": len(load.errors),
        "first_error": load.errors[0] if load.errors else None,
        "by_kind": {k: summary_ms(v) for k, v in sorted(load.latencies.items())},
    }


def _pgbench_args() -> list[str]:
    url = sa.make_url(BASE)
    return ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(found).exists():
        raise SystemExit("pgbench not found: install postgresql-contrib or put it on PATH")
    return found


def pgbench_init(scale: int) -> None:
    admin = sa.create_engine(BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PGBENCH_DB}).first()
        if not exists:
            conn.execute(sa.text(f"CREATE DATABASE {PGBENCH_DB}"))
    admin.dispose()
    subprocess.run(
        [pgbench_binary(), *_pgbench_args(), "-i", "-q", "-s", str(scale), PGBENCH_DB], check=True, capture_output=True
    )


def pgbench_tps(clients: int, seconds: int) -> float:
    out = subprocess.run(
        [
            pgbench_binary(),
            *_pgbench_args(),
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            PGBENCH_DB,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,16,32", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=20, help="per level")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--orders", type=int, default=200_000, help="delivered orders fed beforehand")
    parser.add_argument("--quick", action="store_true", help="--clients 1,8,32 --seconds 6 --orders 40000")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.orders = "1,8,32", 6, 40_000
    levels = [int(x) for x in args.clients.split(",")]
    print(f"machine: {machine_load()}")

    started = time.perf_counter()
    seed(args.orders)
    pgbench_init(max(levels))
    print(
        f"seeded {args.orders} delivered orders and pgbench scale {max(levels)} in {time.perf_counter() - started:.1f}s"
    )

    results, tps = [], {}
    order_ids = itertools.count(1)
    with serve(SCHEMA, args.workers, Path(f"/tmp/{SCHEMA}-serve.log")) as server:
        measure(server, order_ids, args.orders, 4, 2)  # warm-up: connections, caches; not reported
        print(
            f"aftersales serve --workers {args.workers} (PostgreSQL), mix of 6 actions per case; each level "
            f"followed at once by pgbench TPC-B-like (scale {max(levels)}), so both see the same machine:"
        )
        for clients in levels:
            r = measure(server, order_ids, args.orders, clients, args.seconds)
            results.append(r)
            tps[clients] = pgbench_tps(clients, max(1, round(args.seconds)))  # the server idles meanwhile
            print(
                f"  {clients:3d} clients: {r['per_s']:8,.0f} actions/s  p50 {r['p50']:6.1f} ms  "
                f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  errors {r['errors']}  "
                f"CPU/action: server {r['server_cpu_ms']:.1f} ms, load generator {r['client_cpu_ms']:.1f} ms  "
                f"| pgbench {tps[clients]:8,.0f} tps ({r['per_s'] / tps[clients]:.3f}x)"
                + (f"  (first error: {r['first_error']})" if r["errors"] else "")
            )
        peak = max(results, key=lambda r: r["per_s"])
        half = measure(server, order_ids, args.orders, max(levels), args.seconds, rate=peak["per_s"] / 2)
        print(
            f"  paced at half the peak ({peak['per_s'] / 2:,.0f}/s, {max(levels)} clients): "
            f"{half['per_s']:,.0f} actions/s  p50 {half['p50']:.1f} ms  p95 {half['p95']:.1f} ms  "
            f"p99 {half['p99']:.1f} ms  errors {half['errors']}"
        )
        print(
            "  by action at half the peak (p50/p95/p99 ms): "
            + ", ".join(f"{k} {v['p50']}/{v['p95']}/{v['p99']}" for k, v in half["by_kind"].items())
        )
    print(f"machine after: {machine_load()}")

    peak_tps = max(tps.values())
    ratios = {f"c{r['clients']}_vs_pgbench": round(r["per_s"] / tps[r["clients"]], 4) for r in results}
    print(
        json.dumps(
            {
                "benchmark": "api",
                "workers": args.workers,
                "peak_actions_per_s": round(peak["per_s"]),
                "pgbench_peak_tps": round(peak_tps),
                "peak_vs_pgbench_peak": round(peak["per_s"] / peak_tps, 4),
                **ratios,
                "p99_ms_at_half_peak": half["p99"],
                "p99_target_ms": 50,
                "server_cpu_ms_per_action": round(peak["server_cpu_ms"], 2),
                "errors": sum(r["errors"] for r in results) + half["errors"],
            }
        )
    )


if __name__ == "__main__":
    main()
