"""The webhook relay under load, on PostgreSQL: outbox rows fanned out and delivered to a
loopback receiver, against plain Python posting the same bodies to the same receiver.

The receiver (bench/_receiver.py, a process of its own) answers 204 to every POST. The outbox is
fed by SQL: copies of one real event (written through the services), spread over `--subjects`
subjects, since deliveries of one subject go one at a time. Three measurements, in this order:

- ceiling: a thread pool of the relay's size sharing one httpx client posts the same bodies,
  with the same headers (signed), to the same receiver; nothing else. Deliveries/s.
- burst: N rows committed at once, then one relay (`Relay.run_forever`, in this process) fans
  them out and delivers them. Deliveries/s from its start to the last delivery.
- paced: rows committed a few at a time at half the burst rate for `--seconds`; p50/p99 from
  each row's commit to its delivery (`delivered_at - outbox.created_at`, both the wall clock).

    python bench/relay.py --quick          # 3000 events: well under a minute
    python bench/relay.py --events 20000 --senders 8
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_harness import _free_port, bench_name, fresh_runtime, machine_load, summary_ms
from aftersales.integrations import envelope, webhooks
from aftersales.runtime import Runtime
from aftersales.services import orders
from aftersales.services.context import Actor
from aftersales.store import tables as t
from aftersales.worker.relay import Relay

SCHEMA = bench_name("aftersales_bench_relay")
HOOK_SECRET = "whsec_" + "YmVuY2gtc2VjcmV0LW9mLXRoZS1yZWxheS0zMmJ5dGVz"
TEMPLATE = {
    "id": "o-template",
    "buyer_id": "b-0",
    "merchant_id": "m-0",
    "payment_method": "online",
    "currency": "CNY",
    "shipping_fee": 1000,
    "items": [{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 9900}],
}
# Copies of the template's outbox row: a new event id each, spread over :subjects orders.
CLONE = sa.text(
    "INSERT INTO outbox (event_id, topic, payload, created_at, attempts) "
    "SELECT :base + g, topic, (payload::jsonb || jsonb_build_object('id', :base + g, "
    "'subject_id', 'o-' || ((:base + g) % :subjects)))::json, clock_timestamp(), 0 "
    "FROM outbox, generate_series(1, :n) g WHERE event_id = :template"
)


def seed(subjects: int) -> tuple[Runtime, int]:
    runtime = fresh_runtime(SCHEMA)
    engine = runtime.engine
    with runtime.uow() as uow:
        orders.create(uow, runtime.env, Actor("integration", "marketplace"), TEMPLATE)
        uow.commit()
    with engine.begin() as conn:
        template = conn.execute(sa.select(t.outbox.c.event_id)).scalar_one()
        conn.execute(t.outbox.update().values(delivered_at=sa.func.now()))  # the template is not measured
    return runtime, template


def add_endpoint(runtime: Runtime, url: str) -> None:
    now = runtime.env.clock.now()
    with runtime.engine.begin() as conn:
        conn.execute(
            t.webhook_endpoints.insert().values(
                id="ep_bench", url=url, events=["*"], secret=HOOK_SECRET, status="enabled", failure_streak=0,
                version=1, created_at=now, updated_at=now,
            )
        )  # fmt: skip


def feed(engine: sa.Engine, template: int, base: int, n: int, subjects: int) -> None:
    with engine.begin() as conn:
        conn.execute(CLONE, {"base": base, "n": n, "subjects": subjects, "template": template})


def ceiling(runtime: Runtime, template: int, url: str, n: int, senders: int) -> tuple[float, float]:
    """Deliveries/s of a bare thread pool posting the same signed bodies (no database), and this
    process's CPU per post (ms): a figure that waiting for a busy machine's cores does not inflate."""
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(t.outbox.c.topic, t.outbox.c.payload).where(t.outbox.c.event_id == template)).one()
    message = envelope.from_outbox(row.topic, row.payload)
    body = message.body()
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=senders, max_keepalive_connections=senders))

    def post(i: int) -> None:
        head = webhooks.headers(f"msg_{i}", datetime.now(UTC), body, [HOOK_SECRET])
        assert client.post(url, content=body, headers=head).status_code == 204

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(post, range(200)))  # warm-up: connections
        started, cpu = time.perf_counter(), time.process_time()
        list(pool.map(post, range(n)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    client.close()
    return n / elapsed, cpu * 1000 / n


def delivered(engine: sa.Engine, after: int = 0) -> int:
    d = t.webhook_deliveries.c
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(d.status == "succeeded", d.event_id > after)).scalar_one()


def run_relay(runtime: Runtime, senders: int) -> tuple[threading.Event, threading.Thread]:
    relay = Relay(runtime.engine, runtime.env, allow_private=True, pool_size=senders)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop, 0.05), name="relay")
    thread.start()
    return stop, thread


def burst(runtime: Runtime, template: int, n: int, subjects: int, senders: int) -> tuple[float, float]:
    """Deliveries/s of one relay, and this process's CPU per delivery (ms; the relay's threads,
    and the polling of this one, which counts what was delivered)."""
    feed(runtime.engine, template, 1_000_000, n, subjects)
    before = delivered(runtime.engine)
    started, cpu = time.perf_counter(), time.process_time()
    stop, thread = run_relay(runtime, senders)
    try:
        while delivered(runtime.engine) < before + n:
            time.sleep(0.02)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        stop.set()
        thread.join()
    return n / elapsed, cpu * 1000 / n


def paced(runtime: Runtime, template: int, rate: float, seconds: float, subjects: int, senders: int) -> dict[str, Any]:
    """Commit rows at `rate` per second in small transactions; commit-to-delivery latency."""
    stop, thread = run_relay(runtime, senders)
    base, tick, fed = 2_000_000, 0.02, 0
    per_tick = max(1, round(rate * tick))
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed * rate)
            if due > fed:
                step = min(due - fed, per_tick * 5)
                feed(runtime.engine, template, base + fed, step, subjects)
                fed += step
            time.sleep(tick)
        deadline = time.perf_counter() + 60
        while delivered(runtime.engine, base) < fed and time.perf_counter() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()
    d, o = t.webhook_deliveries.c, t.outbox.c
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.delivered_at, o.created_at)
            .join(t.outbox, o.event_id == d.event_id)
            .where(d.event_id > base, d.status == "succeeded")
        ).all()
    latencies = [(r.delivered_at - r.created_at).total_seconds() for r in rows]
    return {"rate": rate, "events": fed, "delivered": len(latencies), **summary_ms(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="outbox rows of the burst (and ceiling posts)")
    parser.add_argument("--subjects", type=int, default=500, help="subjects the events are spread over")
    parser.add_argument("--senders", type=int, default=8, help="the relay's sending threads (and the ceiling's)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the paced run")
    parser.add_argument("--quick", action="store_true", help="--events 3000 --seconds 8")
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds = 3000, 8
    print(f"machine before: {machine_load()}")

    port = _free_port()
    receiver = subprocess.Popen([sys.executable, str(Path(__file__).parent / "_receiver.py"), str(port)],
                                stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == b"ready"
        url = f"http://127.0.0.1:{port}/hooks"
        runtime, template = seed(args.subjects)
        add_endpoint(runtime, url)
        top, top_cpu = ceiling(runtime, template, url, args.events, args.senders)
        print(
            f"ceiling: httpx, {args.senders} threads, same signed bodies: {top:,.0f} posts/s, {top_cpu:.2f} ms CPU each"
        )
        rate, cpu = burst(runtime, template, args.events, args.subjects, args.senders)
        print(
            f"burst: {args.events} events committed, then fanned out and delivered by one relay "
            f"({args.senders} senders): {rate:,.0f} deliveries/s = {rate / top:.2f}x the ceiling; "
            f"{cpu:.2f} ms CPU each = {cpu / top_cpu:.2f}x the ceiling's"
        )
        lat = paced(runtime, template, rate / 2, args.seconds, args.subjects, args.senders)
        print(
            f"paced at {lat['rate']:,.0f} events/s (half the burst rate) for {args.seconds:.0f}s: "
            f"commit to delivery p50 {lat['p50']} ms, p99 {lat['p99']} ms ({lat['delivered']}/{lat['events']} delivered)"
        )
    finally:
        receiver.terminate()
        receiver.wait(10)
    print(f"machine after: {machine_load()}")
    print(json.dumps({"ceiling_per_s": round(top), "relay_per_s": round(rate), "ratio": round(rate / top, 2),
                      "ceiling_cpu_ms": round(top_cpu, 3), "relay_cpu_ms": round(cpu, 3), "paced": lat}))  # fmt: skip


if __name__ == "__main__":
    main()
