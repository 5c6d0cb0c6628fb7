"""The API under load: `aftersales serve --workers N` on PostgreSQL against pgbench's TPC-B.

A load generator (this process, asyncio with a lean HTTP/1.1 client: it shares the cores with
the server, so it must cost little; loopback only) drives a realistic mix through
the real server. Each virtual user takes a delivered order of two lines (tea x2, a gaiwan) and
  - walks a return-and-refund case on the tea through file, read case, message, approve,
    merchant queue, ship-return, confirm-receipt (POSTs with an Idempotency-Key as a careful
    client sends);
  - files a refund-only request on the gaiwan line alone, which the merchant answers with a
    partial-refund offer and the buyer accepts (the line-item and negotiation actions);
  - opens the merchant's console queue page (signed in once, before the run, through the
    console's own sign-in with a marketplace token), as shop staff do between actions.
`--mix six` is the older mix: the first case only, on the whole order, without the message.
Orders are fed beforehand (one made through the services, then copied by SQL): feeding is the
marketplace's traffic, not the mix.

It reports completed actions/s, p50/p95/p99 latency, the server's CPU and its PostgreSQL round
trips per action at increasing concurrency; then runs at half the peak rate (paced, latency
counted from each request's scheduled start so a stall is not hidden) and reports p99 there.
Round trips are counted by a TCP proxy between the server and PostgreSQL (bench/_pgcount.py);
at 1 client each request's own are counted, by kind of action. In the same run, right after
each level, pgbench's built-in TPC-B-like script runs with the same client count on a database
of its own: the reference for what this PostgreSQL does on this machine at that moment.
The last line is JSON.

    python bench/api.py --quick                 # clients 1,8,32, 6 s each: under 2 minutes
    python bench/api.py --clients 1,4,16,32 --seconds 20
    python bench/api.py --quick --noisy         # a busy loop shares the cores all along
    python bench/api.py --quick --processes 2   # two single-process servers, users spread over them
    python bench/api.py --quick --direct        # no counting proxy: what it costs the figures
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Connection
from _pgcount import Counter, counting_proxy
from _server_harness import (
    BASE,
    Server,
    auth,
    bench_name,
    cpu_seconds,
    fresh_runtime,
    machine_load,
    relay_process,
    serve,
    summary_ms,
    token,
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
    "items": [
        {"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 9900},
        {"sku": "gaiwan", "title": "白瓷盖碗", "quantity": 1, "unit_price": 5900},
    ],
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


# One step of a user's walk: kind, method, path ({id}: the case the walk's first step filed),
# whose headers, body, the status it must answer.
Step = tuple[str, str, str, str, dict[str, Any] | None, int]


def case_walk(g: int, mix: str) -> list[list[Step]]:
    """What one user does with delivered order o-{g}: walks, each on a case of its own."""
    refund: dict[str, Any] = {
        "order_id": f"o-{g}",
        "type": "return_refund",
        "reason": "quality_problem",
        "description": "茶叶受潮结块",
    }
    if mix == "six":
        message: list[Step] = []
    else:
        refund["items"] = [{"sku": "tea-250g", "quantity": 2}]
        message = [("message", "POST", "/v1/after-sales/{id}/messages", "buyer", {"body": "包装破损, 茶叶结块"}, 201)]
    first: list[Step] = [
        ("file", "POST", "/v1/after-sales", "buyer", refund, 201),
        ("read_case", "GET", "/v1/after-sales/{id}", "buyer", None, 200),
        *message,
        (
            "approve",
            "POST",
            "/v1/after-sales/{id}/approve",
            "merchant",
            {"return_address": "杭州市西湖区龙井路 18 号"},
            200,
        ),
        ("merchant_queue", "GET", "/v1/after-sales?status=awaiting_return&limit=20", "merchant", None, 200),
        (
            "ship_return",
            "POST",
            "/v1/after-sales/{id}/ship-return",
            "buyer",
            {"carrier": "ZTO", "tracking_number": f"ZT{g}"},
            200,
        ),
        ("confirm", "POST", "/v1/after-sales/{id}/confirm-receipt", "merchant", None, 200),
    ]
    if mix == "six":
        return [first]
    part = {
        "order_id": f"o-{g}",
        "type": "refund_only",
        "reason": "damaged",
        "items": [{"sku": "gaiwan", "quantity": 1}],
        "description": "盖碗有裂纹",
    }
    second: list[Step] = [
        ("file_line", "POST", "/v1/after-sales", "buyer", part, 201),
        (
            "offer",
            "POST",
            "/v1/after-sales/{id}/offer",
            "merchant",
            {"amount": 3000, "note": "补偿一半, 盖碗留用"},
            200,
        ),
        ("accept_offer", "POST", "/v1/after-sales/{id}/accept-offer", "buyer", None, 200),
    ]
    console: list[Step] = [("console_queue", "GET", "/console/after-sales", "console", None, 200)]
    return [first, second, console]


def console_cookies(base: str) -> dict[str, dict[str, str]]:
    """Each shop's staff signed in to the console once, as the marketplace hands a person over
    (POST /console/sign-in with their token): the session cookie their pages send."""
    cookies = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(MERCHANTS):
            signed = client.post("/console/sign-in", data={"token": token("merchant", f"m-{i}-staff", f"m-{i}")})
            session = signed.cookies.get("aftersales_session")
            if signed.status_code != 303 or not session:
                raise RuntimeError(f"console sign-in of m-{i}: {signed.status_code} {signed.text[:200]}")
            cookies[f"m-{i}"] = {"Cookie": f"aftersales_session={session}"}
            client.cookies.clear()
    return cookies


class Load:
    """Virtual users sharing the order supply, the counters and (when paced) a schedule."""

    def __init__(
        self,
        bases: Sequence[str],
        order_ids: itertools.count[int],
        n_orders: int,
        mix: str,
        console: dict[str, dict[str, str]],
        counter: Counter | None,
    ) -> None:
        self.bases, self.order_ids, self.n_orders, self.mix = bases, order_ids, n_orders, mix
        self.console, self.counter = console, counter
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.done = 0
        self.merchant_headers = {f"m-{i}": auth("merchant", f"m-{i}-staff", f"m-{i}") for i in range(MERCHANTS)}
        self.buyer_headers: dict[str, dict[str, str]] = {}
        self.rate: float | None = None
        self.slots = itertools.count()
        self.over = False
        # Each request's own round trips, by kind: exact only while one request runs at a time.
        self.attribute = False
        self.round_trips: dict[str, list[int]] = {}

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
    ) -> bytes | None:
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
        trips = self.counter.round_trips() if self.attribute and self.counter else 0
        status, content = await client.request(method, path, headers, body)
        if status != expect:
            self.errors.append(f"{kind}: {status} {content[:200].decode(errors='replace')}")
            return None
        self.latencies.setdefault(kind, []).append(time.perf_counter() - began)
        if self.attribute and self.counter:
            self.round_trips.setdefault(kind, []).append(self.counter.round_trips() - trips)
        self.done += 1
        return content

    async def user(self, n: int, start_at: float, stop_at: float) -> None:
        client = Connection(self.bases[n % len(self.bases)])  # users spread over the servers
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
            merchant = f"m-{g % MERCHANTS}"
            headers = {
                "buyer": self.buyer(f"b-{g % BUYERS}"),
                "merchant": self.merchant_headers[merchant],
                "console": self.console.get(merchant, {}),
            }
            for walk in case_walk(g, self.mix):
                case_id = ""
                for kind, method, path, who, body, expect in walk:
                    out = await self.call(
                        client, kind, method, path.format(id=case_id), headers[who], body, expect, stop_at, start_at
                    )
                    if out is None:
                        return
                    if expect == 201 and not case_id:  # the walk's filing: its case is the walk's
                        case_id = json.loads(out)["id"]

    async def run(self, clients: int, seconds: float) -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(self.user(n, start, stop_at) for n in range(clients)))
        return time.perf_counter() - start


WRITES = {kind for walk in case_walk(1, "full") for kind, method, *_ in walk if method == "POST"}


class Fleet(NamedTuple):
    """What runs the product in this benchmark: the API servers, the webhook relay apart (its
    work is the actions' too, but not any request's), and a round-trip counter before each."""

    servers: list[Server]
    relay_pid: int
    api_trips: Counter | None
    relay_trips: Counter | None


@contextlib.contextmanager
def fleet(processes: int, workers: int, direct: bool) -> Iterator[Fleet]:
    """`processes` separate `aftersales serve --workers N --no-relay`, each on its port, and one
    `aftersales relay`: N processes do the work of one server with N workers (whose relay is a
    thread of the supervisor, a process apart from the workers too). The counting proxies fork
    first, before the servers' pipes and the load generator's event loop exist."""
    url = sa.make_url(BASE)
    with contextlib.ExitStack() as stack:
        api_trips = relay_trips = None
        if not direct:
            upstream = (url.host or "127.0.0.1", url.port or 5432)
            api_trips = stack.enter_context(counting_proxy(*upstream))
            relay_trips = stack.enter_context(counting_proxy(*upstream))
        running = [
            stack.enter_context(
                serve(SCHEMA, workers, Path(f"/tmp/{SCHEMA}-serve-{i}.log"), _via(url, api_trips), relay=False)
            )
            for i in range(processes)
        ]
        relay_pid = stack.enter_context(relay_process(SCHEMA, Path(f"/tmp/{SCHEMA}-relay.log"), _via(url, relay_trips)))
        yield Fleet(running, relay_pid, api_trips, relay_trips)


def _via(url: sa.URL, counter: Counter | None) -> str | None:
    return None if counter is None else url.set(port=counter.port).render_as_string(hide_password=False)


class Run:
    """What every level shares: the fleet, the order supply, the console sessions, the neighbour."""

    def __init__(self, fleet: Fleet, n_orders: int, mix: str, noise: subprocess.Popen[bytes] | None) -> None:
        self.fleet, self.n_orders, self.mix, self.noise = fleet, n_orders, mix, noise
        self.order_ids = itertools.count(1)
        self.console = console_cookies(fleet.servers[0].base) if mix == "full" else {}

    def _sample(self) -> dict[str, float]:
        f = self.fleet
        counters = {"api": f.api_trips, "relay": f.relay_trips}
        return {
            "server_cpu": sum(cpu_seconds(s.pid) for s in f.servers),
            "relay_cpu": cpu_seconds(f.relay_pid),
            "counter_cpu": sum(cpu_seconds(c.pid) for c in counters.values() if c),
            "noise_cpu": cpu_seconds(self.noise.pid) if self.noise else 0.0,
            "client_cpu": time.process_time(),
            **{f"{k}_trips": c.round_trips() for k, c in counters.items() if c},
            **{f"{k}_statements": c.statements() for k, c in counters.items() if c},
        }

    def measure(self, clients: int, seconds: float, rate: float | None = None) -> dict[str, Any]:
        bases = [s.base for s in self.fleet.servers]
        load = Load(bases, self.order_ids, self.n_orders, self.mix, self.console, self.fleet.api_trips)
        load.rate = rate
        load.attribute = clients == 1 and rate is None
        before = self._sample()
        elapsed = asyncio.run(load.run(clients, seconds))
        used = {k: v - before[k] for k, v in self._sample().items()}
        every = [x for values in load.latencies.values() for x in values]
        done = max(load.done, 1)
        counted = self.fleet.api_trips is not None
        by_kind_trips = {k: sum(v) / len(v) for k, v in sorted(load.round_trips.items())}
        inside = sum(sum(v) for v in load.round_trips.values())
        writes = [x for k, v in load.round_trips.items() if k in WRITES for x in v]
        reads = [x for k, v in load.round_trips.items() if k not in WRITES for x in v]
        return {
            "clients": clients,
            "actions": load.done,
            "per_s": load.done / elapsed,
            **summary_ms(every),
            "server_cpu_ms": 1000 * used["server_cpu"] / done,
            "relay_cpu_ms": 1000 * used["relay_cpu"] / done,
            "client_cpu_ms": 1000 * used["client_cpu"] / done,
            "counter_cpu_ms": 1000 * used["counter_cpu"] / done if counted else None,
            "noise_cpu_share": used["noise_cpu"] / elapsed if self.noise else None,
            "round_trips": used["api_trips"] / done if counted else None,
            "statements": used["api_statements"] / done if counted else None,
            "relay_round_trips": used["relay_trips"] / done if counted else None,
            # At 1 client only: each request's own, by kind; and the servers' round trips outside
            # any request (none expected: the relay and the deadline worker run elsewhere).
            "round_trips_by_kind": by_kind_trips or None,
            "round_trips_per_write": sum(writes) / len(writes) if writes else None,
            "round_trips_per_read": sum(reads) / len(reads) if reads else None,
            "round_trips_between_requests": used["api_trips"] - inside if by_kind_trips else None,
            "errors": len(load.errors),
            "first_error": load.errors[0] if load.errors else None,
            "by_kind": {k: summary_ms(v) for k, v in sorted(load.latencies.items())},
        }


@contextlib.contextmanager
def busy_neighbour(on: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """--noisy: a CPU-bound process of our own niceness beside the server for the whole run,
    as another tenant of the machine would be (ended by its pid, it is ours)."""
    if not on:
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


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


def _trips_text(r: dict[str, Any]) -> str:
    if r["round_trips"] is None:
        return ""
    return (
        f"  round trips/action {r['round_trips']:.1f} ({r['statements']:.1f} statements), "
        f"relay {r['relay_round_trips']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,16,32", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=20, help="per level")
    parser.add_argument("--workers", type=int, help="processes of each server (default: 2, or 1 with --processes)")
    parser.add_argument("--processes", type=int, default=1, help="separate servers, users spread over them")
    parser.add_argument("--orders", type=int, default=200_000, help="delivered orders fed beforehand")
    parser.add_argument("--mix", choices=("full", "six"), default="full", help="six: the older six-action mix")
    parser.add_argument("--noisy", action="store_true", help="a CPU-bound process beside the server all along")
    parser.add_argument("--direct", action="store_true", help="no round-trip counting proxy before PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="--clients 1,8,32 --seconds 6 --orders 40000")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.orders = "1,8,32", 6, 40_000
    workers = args.workers or (2 if args.processes == 1 else 1)
    levels = [int(x) for x in args.clients.split(",")]
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"machine: {machine_load()}")

    started = time.perf_counter()
    seed(args.orders)
    pgbench_init(max(levels))
    print(
        f"seeded {args.orders} delivered orders and pgbench scale {max(levels)} in {time.perf_counter() - started:.1f}s"
    )

    results, tps = [], {}
    with fleet(args.processes, workers, args.direct) as running, busy_neighbour(args.noisy) as noise:
        run = Run(running, args.orders, args.mix, noise)
        counted = not args.direct
        run.measure(4, 2)  # warm-up: connections, caches; not reported
        shape = (
            f"{args.processes} x aftersales serve --workers {workers}"
            if args.processes > 1
            else f"aftersales serve --workers {workers}"
        )
        kinds = sorted({kind for walk in case_walk(1, args.mix) for kind, *_ in walk})
        print(
            f"{shape} and aftersales relay (PostgreSQL{'' if args.direct else ', through round-trip counters'}), "
            f"{args.mix} mix ({', '.join(kinds)})"
            + (", a busy loop beside it all along" if args.noisy else "")
            + f"; each level followed at once by pgbench TPC-B-like (scale {max(levels)}), "
            "so both see the same machine:"
        )
        for clients in levels:
            r = run.measure(clients, args.seconds)
            results.append(r)
            tps[clients] = pgbench_tps(clients, max(1, round(args.seconds)))  # the server idles meanwhile
            print(
                f"  {clients:3d} clients: {r['per_s']:8,.0f} actions/s  p50 {r['p50']:6.1f} ms  "
                f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  errors {r['errors']}  "
                f"CPU/action: server {r['server_cpu_ms']:.2f} ms, load generator {r['client_cpu_ms']:.2f} ms"
                + f", relay {r['relay_cpu_ms']:.2f} ms"
                + (f", counters {r['counter_cpu_ms']:.2f} ms" if counted else "")
                + _trips_text(r)
                + (f"  busy loop {100 * r['noise_cpu_share']:.0f}% of a core" if noise else "")
                + f"  | pgbench {tps[clients]:8,.0f} tps ({r['per_s'] / tps[clients]:.3f}x)"
                + (f"  (first error: {r['first_error']})" if r["errors"] else "")
            )
            if r["round_trips_by_kind"]:
                print(
                    "      round trips by action, each request's own (1 client): "
                    + ", ".join(f"{k} {v:.1f}" for k, v in r["round_trips_by_kind"].items())
                    + f"; per write {r['round_trips_per_write']:.1f}, per read {r['round_trips_per_read']:.1f}; "
                    f"outside requests {r['round_trips_between_requests']}"
                )
        peak = max(results, key=lambda r: r["per_s"])
        half = run.measure(max(levels), args.seconds, rate=peak["per_s"] / 2)
        print(
            f"  paced at half the peak ({peak['per_s'] / 2:,.0f}/s, {max(levels)} clients): "
            f"{half['per_s']:,.0f} actions/s  p50 {half['p50']:.1f} ms  p95 {half['p95']:.1f} ms  "
            f"p99 {half['p99']:.1f} ms  errors {half['errors']}  "
            f"CPU/action: server {half['server_cpu_ms']:.2f} ms" + _trips_text(half)
        )
        print(
            "  by action at half the peak (p50/p95/p99 ms): "
            + ", ".join(f"{k} {v['p50']}/{v['p95']}/{v['p99']}" for k, v in half["by_kind"].items())
        )
    load_after = [round(x, 2) for x in os.getloadavg()]
    print(f"machine after: {machine_load()}")

    peak_tps = max(tps.values())
    ratios = {f"c{r['clients']}_vs_pgbench": round(r["per_s"] / tps[r["clients"]], 4) for r in results}
    single = next((r for r in results if r["round_trips_by_kind"]), None)

    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    print(
        json.dumps(
            {
                "benchmark": "api",
                "mix": args.mix,
                "processes": args.processes,
                "workers": workers,
                "noisy": args.noisy,
                "counted": not args.direct,
                "busy_loop_core_share": rounded(peak["noise_cpu_share"]),
                "peak_actions_per_s": round(peak["per_s"]),
                "pgbench_peak_tps": round(peak_tps),
                "peak_vs_pgbench_peak": round(peak["per_s"] / peak_tps, 4),
                **ratios,
                "p99_ms_at_half_peak": half["p99"],
                "p99_target_ms": 50,
                "server_cpu_ms_per_action": round(peak["server_cpu_ms"], 2),
                "server_cpu_ms_per_action_at_half_peak": round(half["server_cpu_ms"], 2),
                "relay_cpu_ms_per_action": round(peak["relay_cpu_ms"], 2),
                "counter_cpu_ms_per_action": rounded(peak["counter_cpu_ms"]),
                "round_trips_per_action": rounded(peak["round_trips"]),
                "relay_round_trips_per_action": rounded(peak["relay_round_trips"]),
                "round_trips_per_action_at_half_peak": rounded(half["round_trips"]),
                "round_trips_per_write": rounded(single["round_trips_per_write"]) if single else None,
                "round_trips_per_read": rounded(single["round_trips_per_read"]) if single else None,
                "round_trips_by_kind": (
                    {k: round(v, 2) for k, v in single["round_trips_by_kind"].items()} if single else None
                ),
                "errors": sum(r["errors"] for r in results) + half["errors"],
                "load_before": load_before,
                "load_after": load_after,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
