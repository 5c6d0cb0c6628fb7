"""The test harness's own promise (tests/conftest.py, tests/live_server.py): what one test leaves
running cannot write into the next test's database. Here one test's life is played out by hand
with the same calls the fixtures make: a server on this test's runtime, a request left half-sent
and a thread still posting, the server stopped as at teardown, the database cleared as the next
test's set-up does, and the next test's server started."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlalchemy as sa

from aftersales.runtime import Runtime
from aftersales.store import tables
from aftersales.store.database import create_engine
from api_builders import order_body
from conftest import PG_URL, clear_tables
from live_server import LiveServer
from waiting import wait_until


def _order_ids(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return set(conn.scalars(sa.select(tables.orders.c.id)))


def _next_tests_engine(runtime: Runtime, sqlite_template: Path, tmp_path: Path) -> sa.Engine:
    """The database the next test gets: on PostgreSQL the same schema, cleared; on SQLite a copy
    of the template of its own."""
    if runtime.settings.database_url == PG_URL:
        clear_tables(runtime.engine)
        return runtime.engine
    path = tmp_path / "next.db"
    shutil.copy(sqlite_template, path)
    return create_engine(f"sqlite:///{path}")


def test_a_request_left_running_cannot_write_into_the_next_tests_database(
    runtime, settings, clock, sqlite_template, tmp_path
):
    server = LiveServer(runtime, grace=0.2)
    market = server.api.as_("integration", "marketplace")
    base, token = server.api.base_url, server.api.token("integration", "marketplace")

    # A request whose body the client holds back until after the server has stopped.
    release, sent = threading.Event(), threading.Event()
    late: list[object] = []

    def held_back_body() -> Iterator[bytes]:
        text = json.dumps(order_body("o-late")).encode()
        yield text[:20]
        sent.set()
        release.wait(timeout=30)
        yield text[20:]

    def post_late() -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            late.append(httpx.post(f"{base}/v1/orders", content=held_back_body(), headers=headers, timeout=10))
        except httpx.HTTPError as exc:
            late.append(exc)

    # A thread that keeps posting orders, on a client of its own, until the test says stop.
    stop_posting, outcomes = threading.Event(), []

    def keep_posting() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            n = 0
            while not stop_posting.is_set():
                n += 1
                try:
                    outcomes.append(client.post("/v1/orders", json=order_body(f"o-p{n}")).status_code)
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=post_late), threading.Thread(target=keep_posting)]
    for th in threads:
        th.start()
    try:
        assert sent.wait(timeout=10) and wait_until(lambda: 201 in outcomes, timeout=10), outcomes
        assert market.post("/v1/orders", json=order_body("o-own")).status_code == 201

        server.stop()  # what the `serve` fixture does when the test ends
        assert "o-late" not in _order_ids(runtime), "a half-sent request ran after its server stopped"
        with_first = len(outcomes)

        nxt = Runtime.build(settings, clock=clock, engine=_next_tests_engine(runtime, sqlite_template, tmp_path))
        assert _order_ids(nxt) == set()
        next_server = LiveServer(nxt)
        try:
            assert next_server.port != server.port
            release.set()
            threads[0].join(timeout=30)
            # The poster is still at it after the next test's server is up: every try is refused.
            assert wait_until(lambda: len(outcomes) >= with_first + 5, timeout=10), outcomes
            stop_posting.set()
            threads[1].join(timeout=30)
            after_stop = outcomes[with_first + 1 :]  # the one at the moment of the stop may have landed
            # None got an answer: the stopped server's connections were closed, its port refuses.
            assert after_stop and all(isinstance(o, str) for o in after_stop), after_stop
            assert after_stop[-1] == "ConnectError", after_stop
            assert not (isinstance(late[0], httpx.Response) and late[0].is_success), late
            assert _order_ids(nxt) == set(), "a request of the previous test wrote into the next one's database"
            # The closed clients of the stopped server refuse to send at all.
            try:
                market.get("/v1/orders")
                raise AssertionError("a client of a stopped server still sent a request")
            except RuntimeError:
                pass
            # And the next test's server works on its own database.
            nxt_market = next_server.api.as_("integration", "marketplace")
            assert nxt_market.post("/v1/orders", json=order_body("o-next")).status_code == 201
            assert _order_ids(nxt) == {"o-next"}
        finally:
            next_server.stop()
            if nxt.engine is not runtime.engine:
                nxt.engine.dispose()
    finally:
        release.set()
        stop_posting.set()
        server.stop()
        for th in threads:
            th.join(timeout=30)
