"""PostgreSQL restarts under load, on a throwaway cluster of the test's own (never the machine's
shared server): deadline workers ride through them and still fire every deadline exactly once;
`aftersales serve` answers clean 503 problems (or refuses the connection) while the database is
down, never a 500, and recovers by itself when it is back."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from chaos_harness import (
    LONG,
    SECRET,
    Cluster,
    Processes,
    Stream,
    WorkerPool,
    assert_each_fired_once,
    cluster,
    free_port,
    healthy,
    inspect,
    lateness,
    lay_down,
    pending,
    percentile,
    terminate_backends,
    utcnow,
    wait_for,
    with_query,
)

from aftersales.api.auth import mint
from aftersales.domain.clock import SystemClock
from aftersales.services import audit
from aftersales.store import migrate
from aftersales.store import tables as t
from aftersales.store.database import create_engine
from aftersales.store.unit_of_work import UnitOfWork

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.chaos]
__all__ = ["cluster"]  # the fixture, used by name

LEASE = 2.0
RESTARTS = 6 if LONG else 3
OUTAGE = 1.5  # seconds the server stays down in each restart


def _restart(own: Cluster, mode: str, outages: list[tuple[datetime, datetime]]) -> None:
    """Stop the server (fast: clients are disconnected; immediate: a crash and recovery), keep
    it down a moment, start it again; the window it was unreachable goes into `outages`."""
    begun = utcnow()
    own.stop(mode)
    time.sleep(OUTAGE)
    own.start()
    outages.append((begun, utcnow()))


def _migrated(own: Cluster):
    engine = create_engine(own.url)
    migrate.upgrade(engine)
    return engine


def test_workers_ride_through_postgres_restarts_and_fire_each_deadline_once(cluster, tmp_path):
    engine = _migrated(cluster)
    procs = Processes(tmp_path)
    pool = WorkerPool(procs, cluster.url, tmp_path, 3, lease=LEASE, batch=10)
    n, rate = (100_000, 200.0) if LONG else (900, 50.0)
    outages: list[tuple[datetime, datetime]] = []
    try:
        pool.start_all(engine)
        stream = Stream(n, utcnow() + timedelta(seconds=1), timedelta(seconds=1 / rate), chunk=20_000)
        lay_down(engine, stream)
        span = (stream.last_due - utcnow()).total_seconds()
        for i in range(RESTARTS):
            time.sleep(span / (RESTARTS + 1))
            _restart(cluster, "immediate" if i % 2 else "fast", outages)
        engine.dispose()  # its pooled connections died with the server
        drained = wait_for(lambda: pending(engine) == 0, timeout=LEASE + 60, interval=0.2)
        for i in range(pool.size):
            procs.check(f"w{i}")
    finally:
        procs.stop_all()

    firing = inspect(engine)
    engine.dispose()
    window = timedelta(seconds=LEASE + 5)
    late = lateness(firing, stream, outages, window)
    print(
        f"\n{n} deadlines at {rate:.0f}/s, 3 workers, {len(outages)} restarts of ~{OUTAGE}s: lateness "
        f"(eligibility moved past outages) p99 {percentile(list(late.values()), 0.99):.3f}s "
        f"max {max(late.values(), default=0):.3f}s"
    )
    assert drained, f"{pending(engine)} deadline(s) still pending after the restarts"
    assert_each_fired_once(firing, n)
    assert not procs.crashes, "workers died with the database:\n" + "\n".join(procs.crashes)
    too_late = {g: s for g, s in late.items() if s > window.total_seconds()}
    assert not too_late, f"{len(too_late)} fired later than lease + 5 s after the database was back"


class _Load:
    """Clients taking orders from creation to delivery (an Idempotency-Key on each POST, retried
    on 503 or a dropped connection) and reading them back, noting every answer with its real time."""

    def __init__(self, base_url: str, clients: int) -> None:
        token = mint(SECRET, sub="marketplace", role="integration", now=SystemClock().now())
        self.http = [
            httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
            for _ in range(clients)
        ]
        self.answers: list[tuple[datetime, int, httpx.Headers, Any]] = []
        self.dropped: list[tuple[datetime, str]] = []
        self.delivered: set[str] = set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(c, i), daemon=True) for i, c in enumerate(self.http)]

    def _call(self, client: httpx.Client, method: str, url: str, **kw: Any) -> httpx.Response | None:
        try:
            r = client.request(method, url, **kw)
        except httpx.TransportError as exc:
            self.dropped.append((utcnow(), repr(exc)))
            return None
        body = r.json() if r.headers.get("content-type", "").endswith("json") else r.text
        self.answers.append((utcnow(), r.status_code, r.headers, body))
        return r

    def _post(self, client: httpx.Client, path: str, body: Any = None) -> httpx.Response:
        key = str(uuid.uuid4())
        while True:  # the same key until an answer that is not "try again"
            r = self._call(client, "POST", path, json=body, headers={"Idempotency-Key": key})
            if r is not None and r.status_code != 503:
                return r
            time.sleep(0.1)

    def _run(self, client: httpx.Client, index: int) -> None:
        from api_builders import order_body

        serial = 0
        while not self.stop.is_set():
            serial += 1
            oid = f"o-{index}-{serial}"
            steps = [
                ("/v1/orders", order_body(oid), 201),
                (f"/v1/orders/{oid}/pay", None, 200),
                (f"/v1/orders/{oid}/ship", {"carrier": "SF", "tracking_number": f"SF-{oid}"}, 200),
                (f"/v1/orders/{oid}/deliver", None, 200),
            ]
            if all(self._post(client, path, body).status_code == expected for path, body, expected in steps):
                self.delivered.add(oid)
            self._call(client, "GET", f"/v1/orders/{oid}")

    def __enter__(self) -> _Load:
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=60)
        for c in self.http:
            c.close()


def test_serve_answers_503_while_postgres_restarts_and_recovers_by_itself(cluster, tmp_path):
    """...and its in-process deadline worker fires a stream of deadlines due meanwhile, each once."""
    engine = _migrated(cluster)
    port = free_port()
    procs = Processes(tmp_path)
    env = {
        "AFTERSALES_DATABASE_URL": with_query(cluster.url, application_name="chaos-serve"),
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        "AFTERSALES_CLOCK": "system",
    }
    outages: list[tuple[datetime, datetime]] = []
    cuts = 0
    try:
        # With its in-process deadline worker, which must ride through the restarts too.
        procs.spawn("serve", ["serve", "--port", str(port)], env)
        assert wait_for(lambda: healthy(port), timeout=60), procs.logs["serve"].read_text()[-3000:]
        stream = Stream(300, utcnow() + timedelta(seconds=1), timedelta(seconds=1 / 25), chunk=20_000)
        lay_down(engine, stream)
        with _Load(f"http://127.0.0.1:{port}", clients=3) as load:
            time.sleep(2)
            for i in range(RESTARTS):
                _restart(cluster, "immediate" if i % 2 else "fast", outages)
                time.sleep(1.5)
                cuts += terminate_backends(engine, "chaos-serve")  # the server's pooled connections die
                time.sleep(1.5)
        drained = wait_for(lambda: pending(engine) == 0, timeout=LEASE + 60, interval=0.2)
        procs.check("serve")
    finally:
        procs.stop_all()
    firing = inspect(engine)
    assert drained, f"{pending(engine)} deadline(s) never fired by the server's worker"
    assert_each_fired_once(firing, stream.n)

    statuses = {}
    for _, status, _, _ in load.answers:
        statuses[status] = statuses.get(status, 0) + 1
    print(
        f"\n{len(outages)} restarts of ~{OUTAGE}s under 3 clients: answers {statuses}, "
        f"{len(load.dropped)} dropped connections, {cuts} connections cut, {len(load.delivered)} orders delivered"
    )
    assert not procs.crashes, "the server died:\n" + "\n".join(procs.crashes)
    assert set(statuses) <= {200, 201, 503}, [a[1:] for a in load.answers if a[1] not in (200, 201, 503)][:5]
    assert statuses.get(503, 0) > 0, "no request met the outage"
    for _, status, headers, body in load.answers:
        if status == 503:
            assert headers["content-type"].startswith("application/problem+json"), (headers, body)
            assert int(headers["retry-after"]) > 0 and body["status"] == 503 and body["code"], body
    for _, back in outages:
        first_ok = min((at for at, status, _, _ in load.answers if at >= back and status < 300), default=None)
        assert first_ok is not None and first_ok - back < timedelta(seconds=5), (
            f"no success within 5 s of the database coming back at {back}"
        )
    # Every order a client took through exists, delivered, each step recorded once; nothing else.
    with engine.connect() as conn:
        stored = dict(
            conn.execute(sa.select(t.orders.c.id, t.orders.c.status).where(t.orders.c.id.like("o-%-%"))).all()
        )  # the load's orders, not the deadline stream's
        repeated = conn.execute(
            sa.select(t.events.c.subject_id, t.events.c.action)
            .group_by(t.events.c.subject_id, t.events.c.action)
            .having(sa.func.count() > 1)
        ).all()
    with UnitOfWork(engine) as uow:  # each order's events alone rebuild its row and deadline
        mismatches = [m for oid in sorted(stored) for m in audit.verify(uow, "order", oid)]
    engine.dispose()
    assert stored == dict.fromkeys(load.delivered, "delivered")
    assert not repeated, f"steps recorded twice: {repeated[:5]}"
    assert not mismatches, mismatches[:5]


def test_serve_started_while_postgres_is_down_waits_for_it(cluster, tmp_path):
    engine = _migrated(cluster)
    engine.dispose()
    cluster.stop("fast")
    port, procs = free_port(), Processes(tmp_path)
    env = {
        "AFTERSALES_DATABASE_URL": cluster.url,
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        "AFTERSALES_CLOCK": "system",
    }
    try:
        procs.spawn("serve", ["serve", "--no-worker", "--port", str(port)], env)
        time.sleep(3)
        procs.check("serve")
        assert not procs.crashes, "serve gave up on a database that is only restarting:\n" + procs.crashes[0]
        cluster.start()
        assert wait_for(lambda: healthy(port), timeout=60), procs.logs["serve"].read_text()[-3000:]
        with _Load(f"http://127.0.0.1:{port}", clients=1) as load:
            assert wait_for(lambda: len(load.delivered) > 0, timeout=30)
    finally:
        procs.stop_all()
    assert {status for _, status, _, _ in load.answers} <= {200, 201}
