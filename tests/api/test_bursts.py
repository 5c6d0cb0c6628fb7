"""A burst of conflicting actions on one case under the simulated clock, behind a real server.

The simulated clock lives in the database. Thirty requests at once, each holding its pooled
connection, must not each need a second one to read the time: with the pool as configured in
store/database.py that ran it dry, and the requests waited on each other until the pool's and
SQLite's 30 s timeouts (500s and 503s). Another transaction holds the case (the write lock on
SQLite, the case's row on PostgreSQL) until the whole burst is in flight, as a slow writer such
as a deadline batch would: then every request holds a connection at once, every time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa

from aftersales.runtime import Runtime
from aftersales.store import tables as t
from aftersales.store.database import create_engine
from api_builders import ADDRESS, assert_problem, feed_order, file_case, race

BURST = 30


def _post(client: httpx.Client, path: str, body: dict, key: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(path, json=body, headers={"Idempotency-Key": key})


@contextmanager
def _case_held(url: str, case_id: str) -> Iterator[None]:
    """Hold the case from another connection, outside the server's pool, until the block ends."""
    other = create_engine(url)
    try:
        with other.begin() as conn:  # BEGIN IMMEDIATE on SQLite: the database's write lock
            conn.execute(sa.select(t.after_sales.c.version).where(t.after_sales.c.id == case_id).with_for_update())
            yield
    finally:
        other.dispose()


def _wait_until_the_pool_is_drained(pool: sa.pool.QueuePool) -> None:
    """Until the burst holds every connection it can get (bounded: the test judges the outcome)."""
    wanted = min(BURST, pool.size() + pool._max_overflow)
    deadline = time.monotonic() + 20
    while pool.checkedout() < wanted and time.monotonic() < deadline:
        time.sleep(0.01)


def _simulated(settings, engine) -> Runtime:
    runtime = Runtime.build(dataclasses.replace(settings, simulated_clock=True), engine=engine)
    assert runtime.sim_clock is not None and runtime.env.clock is runtime.sim_clock
    runtime.sim_clock.initialise()
    return runtime


def test_a_burst_of_conflicting_actions_under_the_simulated_clock_has_one_winner_and_409s(
    serve, settings, engine, db_url
):
    api = serve(_simulated(settings, engine))
    feed_order(api)
    case_id = file_case(api)["id"]
    staff = [api.as_("merchant", f"m-1-staff-{i}", merchant_id="m-1") for i in range(BURST)]
    calls = [
        _post(m, f"/v1/after-sales/{case_id}/approve", {"return_address": ADDRESS}, f"k-{i}")
        if i % 2 == 0
        else _post(m, f"/v1/after-sales/{case_id}/reject", {"reason": "no_quality_issue"}, f"k-{i}")
        for i, m in enumerate(staff)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(1) as background, _case_held(db_url, case_id):
        burst = background.submit(race, calls)
        _wait_until_the_pool_is_drained(engine.pool)
    responses = burst.result()
    elapsed = time.monotonic() - started
    assert sorted(r.status_code for r in responses) == [200] + [409] * (BURST - 1), [
        (r.status_code, r.headers.get("content-type"), r.text[:120]) for r in responses if r.status_code != 409
    ]
    for loser in (r for r in responses if r.status_code == 409):
        assert_problem(loser, 409)
    # No request waited out a pool or lock timeout (30 s): the burst is over in seconds.
    assert elapsed < 15, elapsed
    winner = next(r for r in responses if r.status_code == 200).json()
    final = api.as_("agent").get(f"/v1/after-sales/{case_id}").json()
    assert final["status"] == winner["status"] and final["version"] == winner["version"]
    for m in staff:
        m.close()


def test_an_advance_made_by_another_process_is_the_time_of_the_next_action(serve, settings, engine, db_url):
    """Every process reads the clock's row for itself: an advance committed elsewhere (a worker,
    a sibling server process: here another engine and pool on the same database) is seen at once."""
    server = _simulated(settings, engine)
    api = serve(server)
    feed_order(api)
    case = file_case(api)
    other_engine = create_engine(db_url)
    try:
        later = _simulated(settings, other_engine).sim_clock.advance(timedelta(hours=5))
    finally:
        other_engine.dispose()
    assert later == server.env.clock.now() >= datetime.fromisoformat(case["created_at"]) + timedelta(hours=5)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/approve", json={"return_address": ADDRESS}
    )
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["updated_at"]) == later


def test_a_burst_of_messages_on_a_held_case_under_the_simulated_clock_is_all_taken(serve, settings, engine, db_url):
    """Messages do not conflict: thirty posted at once on one case, held meanwhile by a slow writer,
    are all taken one after the other (PostgreSQL queues them on the case's row), none a 409 or a
    5xx, and none waits out a timeout."""
    api = serve(_simulated(settings, engine))
    feed_order(api)
    case_id = file_case(api)["id"]
    parties = [api.as_("buyer", "b-1")] + [api.as_("merchant", f"m-1-staff-{i}", merchant_id="m-1") for i in range(3)]
    path = f"/v1/after-sales/{case_id}/messages"
    calls = [_post(parties[i % 4], path, {"body": f"第{i}条"}, f"m-{i}") for i in range(BURST)]
    started = time.monotonic()
    with ThreadPoolExecutor(1) as background, _case_held(db_url, case_id):
        burst = background.submit(race, calls)
        _wait_until_the_pool_is_drained(engine.pool)
    responses = burst.result()
    assert sorted(r.status_code for r in responses) == [201] * BURST, [
        (r.status_code, r.text[:120]) for r in responses if r.status_code != 201
    ]
    assert time.monotonic() - started < 15
    listed = api.as_("agent").get(path, params={"limit": 200}).json()["items"]
    assert sorted(m["body"] for m in listed) == sorted(f"第{i}条" for i in range(BURST))
    events = api.as_("agent").get(f"/v1/after-sales/{case_id}/events").json()["items"]
    assert [e["action"] for e in events].count("message_posted") == BURST
