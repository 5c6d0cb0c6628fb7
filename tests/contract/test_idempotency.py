"""Idempotency-Key replays over a whole scripted run (docs/api.md "Safety on retries and races").

The same script runs twice on one database, on twin orders: once with every POST sent once, once
with every POST sent three times under one key (some of them by three threads at once). Both runs
must leave the same rows behind, table by table: one effect however often a request is retried.
Every retry gets the first response (status, body, ETag); a retry still in flight may instead get
a 409, never a second effect. Keys are kept at least 24 h (README: 48 h), and the worker's
housekeeping drops only older ones."""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from aftersales.runtime import Runtime
from aftersales.store import tables as t
from aftersales.worker.engine import DeadlineEngine
from api_builders import ADDRESS, assert_problem, case_body, db_state, order_body, race
from conftest import Api

Send = Callable[..., httpx.Response]
LONG = os.environ.get("AFTERSALES_CHAOS") == "long"


def _same(first: httpx.Response, again: httpx.Response) -> None:
    assert (again.status_code, again.json(), again.headers.get("etag")) == (
        first.status_code,
        first.json(),
        first.headers.get("etag"),
    ), f"{first.text}\n!=\n{again.text}"


@dataclasses.dataclass
class Caller:
    """Sends each request once, or three times with one Idempotency-Key."""

    api: Any
    role: str
    sub: str | None = None
    merchant_id: str | None = None
    repeat: bool = False
    burst: int = 3  # how many copies a concurrent send fires at once
    keys: Counter[str] = dataclasses.field(default_factory=Counter)
    nonce: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:8])  # keys are per caller

    def client(self) -> httpx.Client:
        return self.api.as_(self.role, self.sub, self.merchant_id)

    def post(self, path: str, *, concurrent: bool = False, method: str = "POST", **kw: Any) -> httpx.Response:
        self.keys[path] += 1
        headers = {"Idempotency-Key": f"{self.nonce}:{path}:{self.keys[path]}"}

        def send() -> httpx.Response:
            with self.client() as c:
                return c.request(method, path, headers=headers, **_fresh(kw))

        if not self.repeat:
            return send()
        if not concurrent:
            first = send()
            for _ in range(2):
                again = send()
                _same(first, again)
                assert again.headers.get("idempotent-replayed") == "true" or first.status_code >= 300
            return first
        burst = race([send] * self.burst)
        won = [r for r in burst if r.status_code < 300]
        assert won, [r.text for r in burst]
        for r in burst:
            if r.status_code >= 300:  # an in-flight duplicate may be told to come back later
                assert_problem(r, 409)
            else:
                _same(won[0], r)
        _same(won[0], send())  # and the stored response is there for the next retry
        return won[0]


def _fresh(kw: dict[str, Any]) -> dict[str, Any]:
    """Multipart files are streams: give each send its own."""
    if "files" not in kw:
        return kw
    return {**kw, "files": {k: (name, io.BytesIO(data)) for k, (name, data) in kw["files"].items()}}


def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()


def _script(api: Any, tag: str, repeat: bool, burst: int = 3) -> None:
    """Order feed, a return to a refund, a refusal escalated to a ruling and an appeal, a
    complaint to its end, and a sanction: every POST of the product's main paths."""
    market, buyer, merchant, agent, agent2, admin = (
        Caller(api, role, sub, merchant_id, repeat=repeat, burst=burst)
        for role, sub, merchant_id in (
            ("integration", "marketplace", None),
            ("buyer", f"b-{tag}", None),
            ("merchant", None, f"m-{tag}"),
            ("agent", "agent-1", None),
            ("agent", "agent-2", None),
            ("admin", "admin-1", None),
        )
    )
    ship = {"carrier": "SF", "tracking_number": f"SF-{tag}"}
    for n, concurrent in ((1, True), (2, False)):
        oid = f"o-{tag}-{n}"
        _ok(
            market.post(
                "/v1/orders", json=order_body(oid, buyer=f"b-{tag}", merchant=f"m-{tag}"), concurrent=concurrent
            ),
            201,
        )
        _ok(market.post(f"/v1/orders/{oid}/pay", concurrent=concurrent))
        _ok(market.post(f"/v1/orders/{oid}/ship", json=ship, concurrent=not concurrent))
        _ok(market.post(f"/v1/orders/{oid}/deliver", concurrent=concurrent))
    # A return, refunded to the original payment.
    photo = _ok(
        buyer.post(
            "/v1/evidence",
            files={"file": ("chat.txt", f"聊天记录 {tag}".encode())},
            data={"kind": "chat_record"},
            concurrent=True,
        ),
        201,
    )
    case = _ok(
        buyer.post("/v1/after-sales", json=case_body(f"o-{tag}-1", evidence=[photo["id"]]), concurrent=True), 201
    )
    _ok(merchant.post(f"/v1/after-sales/{case['id']}/approve", json={"return_address": ADDRESS}))
    _ok(buyer.post(f"/v1/after-sales/{case['id']}/ship-return", json=ship, concurrent=True))
    done = _ok(merchant.post(f"/v1/after-sales/{case['id']}/confirm-receipt", concurrent=True))
    assert done["status"] == "refunded"
    # A refusal, the platform's intervention, a ruling against the merchant and its appeal.
    case = _ok(buyer.post("/v1/after-sales", json=case_body(f"o-{tag}-2", type="refund_only", reason="damaged")), 201)
    _ok(merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}, concurrent=True))
    dispute_id = _ok(
        buyer.post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"}, concurrent=True)
    )["dispute_id"]
    _ok(merchant.post(f"/v1/disputes/{dispute_id}/evidence", json={"statement": "商品出库时完好"}))
    _ok(agent.post(f"/v1/disputes/{dispute_id}/request-evidence", json={"party": "buyer"}, concurrent=True))
    _ok(agent.post(f"/v1/disputes/{dispute_id}/assign", json={"agent_id": "agent-2"}))
    _ok(agent2.post(f"/v1/disputes/{dispute_id}/notes", json={"body": "买家视频清晰"}, concurrent=True), 201)
    ruling = {"outcome": "partial_refund", "amount": 5000, "liable_party": "merchant", "rationale": "部分责任"}
    _ok(agent2.post(f"/v1/disputes/{dispute_id}/rule", json=ruling, concurrent=True))
    appeal = _ok(
        merchant.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "质检合格"}, concurrent=True), 201
    )
    _ok(
        agent.post(
            f"/v1/appeals/{appeal['id']}/decide", json={"decision": "uphold", "rationale": "维持"}, concurrent=True
        )
    )
    # A complaint from filing to the buyer's confirmation, and a sanction.
    complaint = _ok(
        buyer.post(
            "/v1/complaints",
            json={"category": "induced_review", "description": "好评返现", "merchant_id": f"m-{tag}"},
            concurrent=True,
        ),
        201,
    )
    path = f"/v1/complaints/{complaint['id']}"
    _ok(merchant.post(f"{path}/reply", json={"reply": "已联系"}, concurrent=True))
    _ok(merchant.post(f"{path}/propose-solution", json={"solution": "补偿 5 元"}))
    _ok(agent.post(f"{path}/approve-solution", concurrent=True))
    _ok(buyer.post(f"{path}/confirm"))
    _ok(
        agent.post(f"/v1/merchants/m-{tag}/violations", json={"kind": "warning", "cause": "诱导评价"}, concurrent=True),
        201,
    )
    _ok(admin.post(f"/v1/agents/desk-{tag}", json={"name": "客服", "capacity": 3}, method="PUT", concurrent=True))


def _rows(runtime: Runtime) -> Counter[str]:
    with runtime.engine.connect() as conn:
        return Counter(
            {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables
            }
        )


def _twin_runs(api: Any, runtime: Runtime, burst: int, rounds: int) -> None:
    """The script once plainly, then `rounds` times with retries: every run leaves the same rows."""
    admin = api.as_("admin", "admin-1")
    for agent_id in ("agent-1", "agent-2"):
        _ok(admin.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "capacity": 500}))
    start = _rows(runtime)
    _script(api, "1", repeat=False)
    once = _rows(runtime)
    assert once["events"] > 25 and once["refunds"] >= 2 and once["violations"] >= 2  # the script did its work
    effect = {name: once[name] - start[name] for name in once}
    for n in range(rounds):
        before = _rows(runtime)
        _script(api, f"r{n}", repeat=True, burst=burst)
        after = _rows(runtime)
        assert {name: after[name] - before[name] for name in after} == effect, f"round {n}"


def test_every_post_of_a_scripted_run_sent_three_times_has_one_effect_and_one_response(api, runtime):
    _twin_runs(api, runtime, burst=3, rounds=1)


@pytest.mark.chaos
@pytest.mark.skipif(not LONG, reason="the long run is `make chaos` (AFTERSALES_CHAOS=long)")
def test_bursts_of_eight_concurrent_retries_over_many_runs_keep_one_effect(api, runtime):
    _twin_runs(api, runtime, burst=8, rounds=10)


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(api, runtime):
    market = api.as_("integration", "marketplace")
    headers = {"Idempotency-Key": "feed-1"}
    _ok(market.post("/v1/orders", json=order_body("o-1"), headers=headers), 201)
    before = db_state(runtime)
    for other in (order_body("o-1", quantity=3), order_body("o-2")):
        assert_problem(market.post("/v1/orders", json=other, headers=headers), 422, "idempotency_key_reused")
    # Another path with the same key is another request too, even with an empty body.
    assert_problem(market.post("/v1/orders/o-1/pay", headers=headers), 422, "idempotency_key_reused")
    assert db_state(runtime) == before


def _key_rows(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return set(conn.execute(sa.select(t.idempotency_keys.c.key)).scalars())


def _housekeeping(runtime: Runtime) -> None:
    """The worker's hourly purge, as a fresh worker runs it."""
    DeadlineEngine(runtime.engine, runtime.env, worker_id="housekeeper").housekeeping()


def test_keys_replay_for_at_least_24_hours_and_only_older_ones_are_purged(api, runtime, clock):
    market = api.as_("integration", "marketplace")
    first = market.post("/v1/orders", json=order_body("o-1"), headers={"Idempotency-Key": "day-1"})
    _ok(first, 201)
    clock.advance(timedelta(hours=23, minutes=59))
    _housekeeping(runtime)
    before = db_state(runtime)
    again = market.post("/v1/orders", json=order_body("o-1"), headers={"Idempotency-Key": "day-1"})
    _same(first, again)
    assert again.headers["idempotent-replayed"] == "true" and db_state(runtime) == before
    clock.advance(timedelta(minutes=1))  # the second key is born 24 h after the first
    _ok(market.post("/v1/orders", json=order_body("o-2"), headers={"Idempotency-Key": "day-2"}), 201)
    clock.advance(timedelta(hours=23, minutes=59))  # day-1 is 47h59m old: still inside 48 h
    _housekeeping(runtime)
    assert _key_rows(runtime) == {"day-1", "day-2"}
    _same(first, market.post("/v1/orders", json=order_body("o-1"), headers={"Idempotency-Key": "day-1"}))
    clock.advance(timedelta(minutes=1, seconds=1))  # day-1 is past 48 h, day-2 is 24h01m old
    _housekeeping(runtime)
    assert _key_rows(runtime) == {"day-2"}
    # With its key gone, the old request is a new one again: the order exists, so it is refused.
    assert_problem(market.post("/v1/orders", json=order_body("o-1"), headers={"Idempotency-Key": "day-1"}), 409)


@pytest.fixture
def sim(serve, runtime) -> Api:
    """A server of the test's own on a runtime whose clock lives in the database and moves only by POST."""
    simulated = Runtime.build(dataclasses.replace(runtime.settings, simulated_clock=True), engine=runtime.engine)
    simulated.sim_clock.initialise()
    return serve(simulated)


def test_a_clock_advance_retried_in_flight_moves_the_clock_once(sim):
    """POST /v1/admin/clock commits in transactions of its own (each firing is one): its key
    cannot ride in the same transaction, and a duplicate must still not advance twice."""
    start = sim.runtime.env.clock.now()
    admin = Caller(sim, "admin", "admin-1", repeat=True)
    for n in range(3):
        out = _ok(admin.post("/v1/admin/clock", json={"advance_seconds": 3600}, concurrent=n % 2 == 0))
        assert sim.runtime.env.clock.now() == start + timedelta(hours=n + 1), out


def test_a_retry_while_the_clock_advance_is_in_flight_is_409_and_moves_nothing(sim):
    """Regression: three concurrent advances with one key moved the clock three times. The key is
    now claimed before the work; here the claim of a first request still running is in place."""
    admin = sim.as_("admin", "admin-1")
    body = {"advance_seconds": 60}
    first = admin.post("/v1/admin/clock", json=body, headers={"Idempotency-Key": "tick"})
    _ok(first)
    with sim.runtime.engine.begin() as conn:  # what a first request leaves while it fires deadlines
        conn.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == "tick")
            .values(status_code=0, body="", headers={})
        )
    now = sim.runtime.env.clock.now()
    assert_problem(
        admin.post("/v1/admin/clock", json=body, headers={"Idempotency-Key": "tick"}), 409, "idempotency_key_in_flight"
    )
    assert_problem(
        admin.post("/v1/admin/clock", json={"advance_seconds": 61}, headers={"Idempotency-Key": "tick"}),
        422,
        "idempotency_key_reused",
    )
    assert sim.runtime.env.clock.now() == now
