"""Console: each page of the web console against the API's read of the same data, on N cases.

Loads N cases the way bench/scale.py does (COPY, spread like a marketplace), with the shops' and
buyers' names and two messages per case, so every page shows what it shows in real use. Then
`aftersales serve` (one process) answers, over real HTTP and one request at a time, each page in
PAGES for a buyer, a shop's staff and an agent, each signed in once with a marketplace token
(POST /console/sign-in); the baseline, asked in the same rounds (API read, then console page),
is the API's GETs of the same data, e.g. the case, its events and its messages for a case page.
Target: every console page is one request and its p95 is under 50 ms. The last line is JSON.

    python bench/console.py --quick          # 20 000 cases, 100 rounds per page
    python bench/console.py                  # 100 000 cases, 300 rounds
    python bench/console.py --pages merchant_case_list,merchant_case_page

A page the console gains is one more entry in PAGES: its name, whose session asks, its path for
round i, and the API paths that read the same data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_harness import auth, bench_name, fresh_schema, machine_load, serve, summary_ms, token
from scale import kept_schema, load

SCHEMA = bench_name("aftersales_bench_console")
TARGET_MS = 50
AGENT = "ag-0"
SHOP = "m-0"  # the biggest shop of the generated marketplace


@dataclass(frozen=True)
class Sample:
    """Who asks and what they open: each role's person and the cases it may open."""

    people: dict[str, tuple[str, str | None]]  # role -> (sub, merchant_id)
    cases: dict[str, list[str]]  # role -> ids of cases it sees

    def case(self, role: str, i: int) -> str:
        ids = self.cases[role]
        return ids[i % len(ids)]


@dataclass(frozen=True)
class Page:
    name: str
    role: str
    console: Callable[[Sample, int], str]  # the page's path for round i
    api: Callable[[Sample, int], list[str]]  # the API GETs that read the same data


def _case_page(role: str) -> Page:
    return Page(
        f"{role}_case_page",
        role,
        lambda s, i: f"/console/after-sales/{s.case(role, i)}",
        lambda s, i: [f"/v1/after-sales/{s.case(role, i)}{tail}" for tail in ("", "/events", "/messages")],
    )


def _list(name: str, role: str, query: str = "") -> Page:
    return Page(
        name,
        role,
        lambda s, i: f"/console/after-sales{query.format(s=s)}",
        lambda s, i: [f"/v1/after-sales?limit=50{query.format(s=s).replace('?', '&')}"],
    )


def _page(name: str, role: str, console: str, api: str) -> Page:
    return Page(name, role, lambda s, i: console, lambda s, i: [api])


PAGES = [
    _page("buyer_orders", "buyer", "/console/orders", "/v1/orders?limit=20"),
    _list("buyer_case_list", "buyer"),
    _case_page("buyer"),
    # A shop's /console/after-sales is its queue by urgency (web/pages/merchant.py), beside the
    # API's newest-first list of the same shop.
    _list("merchant_queue", "merchant"),
    _list("merchant_queue_pending", "merchant", "?status=pending_merchant"),
    _case_page("merchant"),
    _list("agent_case_list", "agent"),
    _page("agent_dispute_queue", "agent", "/console/disputes", "/v1/disputes?limit=50"),
    # The charts have no API of their own: beside them, the list of the same cases.
    _page("merchant_metrics", "merchant", "/console/merchant/metrics", "/v1/after-sales?limit=50"),
    _page("agent_dashboard", "agent", "/console/dashboard", "/v1/after-sales?limit=50"),
    _case_page("agent"),
]


def dress(engine: sa.Engine) -> float:
    """Names for every shop and buyer with a case, and a buyer's and the shop's message on every
    case: what the console's pages read beside the case itself. Seconds taken."""
    started = time.perf_counter()
    with engine.begin() as conn:
        now = "now() AT TIME ZONE 'UTC'"  # the columns hold naive UTC (store/types.py)
        for statement in (
            "INSERT INTO merchants (id, name, timezone, return_addresses, created_at, updated_at) "
            f"SELECT m, '店铺 ' || m, 'Asia/Shanghai', '[]'::json, {now}, {now} "
            "FROM (SELECT DISTINCT merchant_id AS m FROM after_sales) AS shops",
            "INSERT INTO buyers (id, display_name, created_at, updated_at) "
            f"SELECT b, '买家 ' || b, {now}, {now} FROM (SELECT DISTINCT buyer_id AS b FROM after_sales) AS people",
            "INSERT INTO case_messages (id, after_sale_id, author_role, author_id, body, evidence, created_at) "
            "SELECT 'msg-b-' || id, id, 'buyer', buyer_id, '茶叶受潮结块，申请退货', '[]'::json, "
            "created_at + interval '1 hour' FROM after_sales UNION ALL "
            "SELECT 'msg-m-' || id, id, 'merchant', merchant_id || '-staff', '您好，请寄回，我们收到后退款', "
            "'[]'::json, created_at + interval '2 hours' FROM after_sales",
        ):
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def sample(engine: sa.Engine, rounds: int) -> Sample:
    with engine.connect() as conn:
        buyer = conn.execute(
            sa.text("SELECT buyer_id FROM after_sales GROUP BY buyer_id ORDER BY count(*) DESC, buyer_id LIMIT 1")
        ).scalar_one()

        def ids(where: str, **params: str) -> list[str]:
            rows = conn.execute(
                sa.text(f"SELECT id FROM after_sales WHERE {where} ORDER BY random() LIMIT :k"), {"k": rounds, **params}
            )
            return [r.id for r in rows]

        cases = {
            "buyer": ids("buyer_id = :b", b=buyer),
            "merchant": ids("merchant_id = :m", m=SHOP),
            "agent": ids("true"),
        }
    people = {"buyer": (buyer, None), "merchant": (f"{SHOP}-staff", SHOP), "agent": (AGENT, None)}
    return Sample(people, cases)


def signed_in(base: str, sub: str, role: str, merchant_id: str | None) -> httpx.Client:
    """A client holding a console session, started once with the marketplace's token."""
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    r = client.post("/console/sign-in", data={"token": token(role, sub, merchant_id)})
    if r.status_code != 303 or "aftersales_session" not in client.cookies:
        raise RuntimeError(f"sign-in as {role} {sub}: {r.status_code} {r.text[:300]}")
    return client


def _get(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    r = client.get(path, headers=headers)
    took = time.perf_counter() - began
    if r.status_code != 200:  # a redirect to the sign-in page would be a page not measured
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
    return took


def _cpu(pid: int) -> float:
    """User + system CPU seconds of the server process so far (one process: --workers 1)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


TICK = os.sysconf("SC_CLK_TCK")


def measure(
    client: httpx.Client, server_pid: int, page: Page, s: Sample, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(console, API) p50/p95/p99 over `rounds`, each round the API's reads then the console
    page, so both see the same moment of a shared machine; and each side's server CPU per
    round ("cpu_ms"), which waiting for a busy machine's cores does not inflate."""
    sub, merchant_id = s.people[page.role]
    headers = auth(page.role, sub, merchant_id)
    console, api, cpu = [], [], {"console": 0.0, "api": 0.0}
    for i in range(-5, rounds):  # 5 rounds to warm connections and plan caches, not counted
        began = _cpu(server_pid)
        api_s = sum(_get(client, path, headers) for path in page.api(s, i))
        between = _cpu(server_pid)
        console_s = _get(client, page.console(s, i))
        if i >= 0:
            api.append(api_s)
            console.append(console_s)
            cpu["api"] += between - began
            cpu["console"] += _cpu(server_pid) - between
    per_round = {side: round(seconds * 1000 / rounds, 2) for side, seconds in cpu.items()}
    return {**summary_ms(console), "cpu_ms": per_round["console"]}, {**summary_ms(api), "cpu_ms": per_round["api"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000, help="cases")
    parser.add_argument("--rounds", type=int, default=300, help="requests per page measured")
    parser.add_argument("--quick", action="store_true", help="-n 20000 --rounds 100")
    parser.add_argument("--keep", action="store_true", help="reuse the loaded schema if it holds -n cases")
    parser.add_argument("--pages", help="comma-separated names of PAGES to measure (default: all)")
    args = parser.parse_args()
    n, rounds = (20_000, 100) if args.quick else (args.n, args.rounds)
    chosen = [p for p in PAGES if not args.pages or p.name in args.pages.split(",")]
    unknown = set(args.pages.split(",")) - {p.name for p in PAGES} if args.pages else set()
    if unknown or not chosen:
        parser.error(f"unknown pages {sorted(unknown)}; there are {[p.name for p in PAGES]}")
    print(f"machine before: {machine_load()}")

    engine = kept_schema(SCHEMA, n) if args.keep else None
    if engine is None:
        engine = fresh_schema(SCHEMA)
        seconds = load(engine, n, datetime.now(UTC))  # the server reads the system clock: live cases are live now
        seconds += dress(engine)
        print(f"loaded {n:,} cases with their parties' names and 2 messages each in {seconds:.1f}s")
    s = sample(engine, rounds)
    engine.dispose()
    print(
        f"the shop {SHOP} staff, the buyer {s.people['buyer'][0]} ({len(s.cases['buyer'])} cases) and the agent "
        f"{AGENT}, each signed in once; {rounds} rounds per page, one request at a time, "
        "each round the API's reads then the console page:"
    )

    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    with serve(SCHEMA, 1, Path(f"/tmp/{SCHEMA}-serve.log")) as server:
        sessions = {role: signed_in(server.base, sub, role, mid) for role, (sub, mid) in s.people.items()}
        try:
            for page in chosen:
                results[page.name] = console, api = measure(sessions[page.role], server.pid, page, s, rounds)
                gets = len(page.api(s, 0))
                print(
                    f"  {page.name:28s} console p50 {console['p50']:6.1f} p95 {console['p95']:6.1f} "
                    f"p99 {console['p99']:6.1f} ms CPU {console['cpu_ms']:5.1f} ms (1 GET) | API p50 {api['p50']:6.1f} p95 {api['p95']:6.1f} "
                    f"p99 {api['p99']:6.1f} ms CPU {api['cpu_ms']:5.1f} ms ({gets} GET{'s' if gets > 1 else ''}) | p95 ratio "
                    f"{console['p95'] / api['p95']:.2f}{'' if console['p95'] < TARGET_MS else f'  <-- over {TARGET_MS} ms'}"
                )
        finally:
            for client in sessions.values():
                client.close()
    print(f"machine after: {machine_load()}")
    worst = max(console["p95"] for console, _ in results.values())
    print(
        json.dumps(
            {
                "benchmark": "console",
                "cases": n,
                "rounds": rounds,
                "worst_console_p95_ms": worst,
                "worst_console_p95_vs_50ms": round(worst / TARGET_MS, 3),
                **{f"{k}_p95_ms": c["p95"] for k, (c, _) in results.items()},
                **{f"{k}_api_p95_ms": a["p95"] for k, (_, a) in results.items()},
                **{f"{k}_vs_api_p95": round(c["p95"] / a["p95"], 2) for k, (c, a) in results.items()},
                **{f"{k}_cpu_ms": c["cpu_ms"] for k, (c, _) in results.items()},
                **{f"{k}_vs_api_cpu": round(c["cpu_ms"] / max(a["cpu_ms"], 0.01), 2) for k, (c, a) in results.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
