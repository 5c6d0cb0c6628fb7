"""`aftersales serve` (a real process, PostgreSQL, no in-process worker) is SIGKILLed again and
again while clients take orders through a whole return: feed, pay, ship, deliver, file, approve,
ship back, confirm receipt. Every POST carries an Idempotency-Key and is retried with it on a
dropped connection or a 503 until it gets an answer. In the end every intended effect happened
exactly once, and for every subject the row, its events, its deadline row and its outbox agree:
a kill never leaves a half-done transition behind."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from chaos_harness import LONG, SECRET, Processes, free_port, healthy, wait_for, with_query

from aftersales.api.auth import mint
from aftersales.domain.clock import SystemClock
from aftersales.services import audit
from aftersales.store import tables as t
from aftersales.store.unit_of_work import UnitOfWork
from api_builders import ADDRESS, case_body, order_body

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.chaos]

CLIENTS = 4
KILLS = 60 if LONG else 4  # the clients keep starting flows until the last kill
CASE_ACTIONS = ["file", "approve", "ship_return", "confirm_receipt"]


class Client:
    """One client thread's HTTP: a POST is retried with its key until it is answered."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.refused = self.cut = self.unavailable = self.replayed = self.flows = 0

    def post(self, role: str, sub: str, path: str, body: Any = None, merchant_id: str | None = None) -> httpx.Response:
        token = mint(SECRET, sub=sub, role=role, merchant_id=merchant_id, now=SystemClock().now())
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            try:
                r = self.http.post(path, json=body, headers=headers)
            except httpx.ConnectError:
                self.refused += 1  # the server is down: the same key again
                time.sleep(0.1)
                continue
            except httpx.TransportError:
                self.cut += 1  # killed mid-request: it may or may not have committed
                time.sleep(0.1)
                continue
            if r.status_code != 503:
                self.replayed += r.headers.get("idempotent-replayed") == "true"
                return r
            self.unavailable += 1
            time.sleep(0.1)
        raise AssertionError(f"POST {path} never answered")


def _flow(client: Client, index: int, serial: int, problems: list[str]) -> None:
    oid, buyer, merchant = f"o-{index}-{serial}", f"b-{index}", f"m-{index % 2}"
    market = ("integration", "marketplace")
    seller = ("merchant", f"{merchant}-staff")
    steps = [
        (market, "/v1/orders", order_body(oid, buyer=buyer, merchant=merchant), 201),
        (market, f"/v1/orders/{oid}/pay", None, 200),
        (market, f"/v1/orders/{oid}/ship", {"carrier": "SF", "tracking_number": f"SF-{oid}"}, 200),
        (market, f"/v1/orders/{oid}/deliver", None, 200),
        (("buyer", buyer), "/v1/after-sales", case_body(oid), 201),
    ]
    case_id = None
    for (role, sub), path, body, expected in steps:
        r = client.post(role, sub, path, body)
        if r.status_code != expected:
            problems.append(f"{path}: {r.status_code} {r.text[:300]}")
            return
        case_id = r.json()["id"]
    for (role, sub), action, body in [
        (seller, "approve", {"return_address": ADDRESS}),
        (("buyer", buyer), "ship-return", {"carrier": "ZTO", "tracking_number": f"ZT-{oid}"}),
        (seller, "confirm-receipt", None),
    ]:
        r = client.post(
            role, sub, f"/v1/after-sales/{case_id}/{action}", body, merchant_id=merchant if role == "merchant" else None
        )
        if r.status_code != 200:
            problems.append(f"{action} {case_id}: {r.status_code} {r.text[:300]}")
            return


def test_killed_server_leaves_no_half_done_transition_and_retries_take_effect_once(pg_engine, tmp_path):
    from conftest import PG_URL, clear_tables

    clear_tables(pg_engine)
    port, procs = free_port(), Processes(tmp_path)
    env = {
        "AFTERSALES_DATABASE_URL": with_query(PG_URL, application_name=f"chaos-api-{os.getpid()}"),
        "AFTERSALES_JWT_SECRET": SECRET,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        "AFTERSALES_CLOCK": "system",
    }
    serve = ["serve", "--no-worker", "--port", str(port)]
    rng = random.Random(os.environ.get("AFTERSALES_CHAOS_SEED"))
    clients = [Client(f"http://127.0.0.1:{port}") for _ in range(CLIENTS)]
    problems: list[str] = []
    killing = threading.Event()
    killing.set()

    def run(client: Client, index: int) -> None:
        try:
            while killing.is_set() and not problems:
                _flow(client, index, client.flows, problems)
                client.flows += 1
        except Exception as exc:
            problems.append(f"client {index}: {exc!r}")

    threads = [threading.Thread(target=run, args=(c, i), daemon=True) for i, c in enumerate(clients)]
    kills = 0
    try:
        procs.spawn("serve", serve, env)
        assert wait_for(lambda: healthy(port), timeout=60), procs.logs["serve"].read_text()[-3000:]
        for thread in threads:
            thread.start()
        while kills < KILLS and not problems:
            time.sleep(rng.uniform(0.3, 1.5))
            procs.kill("serve")
            kills += 1
            procs.spawn("serve", serve, env)
            assert wait_for(lambda: healthy(port), timeout=60), procs.logs["serve"].read_text()[-3000:]
        killing.clear()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(th.is_alive() for th in threads), "clients did not finish"
    finally:
        procs.stop_all()
        for c in clients:
            c.http.close()

    flows = sum(c.flows for c in clients)
    print(
        f"\n{CLIENTS} clients, {flows} flows, {kills} kills: "
        f"{sum(c.cut for c in clients)} requests cut mid-way and {sum(c.refused for c in clients)} refused, "
        f"all retried; {sum(c.unavailable for c in clients)} 503s; "
        f"{sum(c.replayed for c in clients)} answers replayed from their Idempotency-Key"
    )
    assert not problems, problems[:5]
    assert kills == KILLS
    _assert_effects_once(pg_engine, flows)
    _assert_subjects_agree(pg_engine)
    with UnitOfWork(pg_engine) as uow:  # and the events alone rebuild every row, ledger and deadline
        mismatches = audit.verify_all(uow)
    assert not mismatches, mismatches[:5]


def _assert_effects_once(engine: sa.Engine, flows: int) -> None:
    e = t.events.c
    with engine.connect() as conn:
        repeated = conn.execute(
            sa.select(e.subject_kind, e.subject_id, e.action, sa.func.count())
            .group_by(e.subject_kind, e.subject_id, e.action)
            .having(sa.func.count() > 1)
        ).all()
        cases = conn.execute(sa.select(t.after_sales.c.id, t.after_sales.c.status, t.after_sales.c.amount)).all()
        timelines: dict[str, list[str]] = {}
        for subject_id, action in conn.execute(
            sa.select(e.subject_id, e.action).where(e.subject_kind == "after_sale").order_by(e.id)
        ):
            timelines.setdefault(subject_id, []).append(action)
        refunds = conn.execute(
            sa.select(t.refunds.c.after_sale_id, sa.func.count(), sa.func.sum(t.refunds.c.amount)).group_by(
                t.refunds.c.after_sale_id
            )
        ).all()
        orders = conn.execute(sa.select(sa.func.count()).select_from(t.orders)).scalar_one()
    assert not repeated, f"effects applied more than once: {repeated[:5]}"
    assert orders == flows and len(cases) == flows
    assert {status for _, status, _ in cases} == {"refunded"}
    assert all(timelines[cid] == CASE_ACTIONS for cid, _, _ in cases), "a case's history is not the intended one"
    amounts = {cid: amount for cid, _, amount in cases}
    assert {cid: (n, total) for cid, n, total in refunds} == {cid: (1, a) for cid, a in amounts.items()}


def _assert_subjects_agree(engine: sa.Engine) -> None:
    """For every order and case: its deadline row is the one its columns name, every event has
    one outbox row, and its status is what its last event left it in."""
    e, o = t.events.c, t.outbox.c
    with engine.connect() as conn:
        outboxless = conn.execute(
            sa.select(e.id, e.subject_id, e.action).where(
                sa.select(sa.func.count()).where(o.event_id == e.id).scalar_subquery() != 1
            )
        ).all()
        armed = {(r.subject_kind, r.subject_id): (r.action, r.due_at) for r in conn.execute(sa.select(t.deadlines))}
        last: dict[tuple[str, str], Any] = {}
        for kind, subject_id, after in conn.execute(
            sa.select(e.subject_kind, e.subject_id, e.after).where(e.after.is_not(None)).order_by(e.id)
        ):
            last[(kind, subject_id)] = after
        subjects = [("order", r) for r in conn.execute(sa.select(t.orders))] + [
            ("after_sale", r) for r in conn.execute(sa.select(t.after_sales))
        ]
    assert not outboxless, f"events without exactly one outbox row: {outboxless[:5]}"
    for kind, row in subjects:
        key = (kind, row.id)
        expected = (row.deadline_action, row.deadline_due_at) if row.deadline_action else None
        assert armed.pop(key, None) == expected, f"{key}: deadline row disagrees with {expected}"
        assert last[key].get("status") == row.status, f"{key}: status {row.status}, last event {last[key]}"
    assert not armed, f"deadline rows for no subject: {list(armed)[:5]}"
