"""Read replicas (docs/design.md "Read replicas"): lists, queues, timelines and dashboards read the
replica; an action, its checks, its Idempotency-Key and a single subject's GET read the primary;
a replica that is down sends its reads to the primary.

Against a real streaming standby (tests/replica_cluster.py). Which database answered is shown by
pausing the standby's replay: a row written on the primary after the pause is on the primary
only, so a read that misses it came from the replica and one that finds it from the primary.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.config import Settings
from aftersales.domain.clock import ManualClock
from aftersales.runtime import Runtime
from aftersales.store import migrate
from aftersales.store.database import create_engine
from aftersales.store.replica import RETRY_AFTER, Replica, create_replica_engine
from api_builders import feed_order, file_case
from bodies import case_body
from conftest import SECRET, clear_tables
from console_client import Console
from replica_cluster import Cluster
from waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.replica]
MERCHANT = {"merchant_id": "m-1"}


@pytest.fixture(scope="module")
def primary(replica_cluster: Cluster) -> Iterator[sa.Engine]:
    engine = create_engine(replica_cluster.primary_url, pool_size=3, max_overflow=5)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def replicated(replica_cluster: Cluster, primary: sa.Engine, tmp_path: Path, clock: ManualClock) -> Iterator[Runtime]:
    """A runtime on the pair's primary with AFTERSALES_DATABASE_REPLICA_URL naming its standby,
    both empty, the standby running, replaying and caught up."""
    cluster = replica_cluster
    if not cluster.standby_running():
        cluster.start_standby()
    cluster.resume_replay()
    clear_tables(primary)
    assert wait_until(lambda: cluster.caught_up(primary), timeout=30, poll=0.05)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=cluster.primary_url,
        database_replica_url=cluster.replica_url,
        jwt_secret=SECRET,
        simulated_clock=False,
        demo=False,
    )
    runtime = Runtime.build(settings, clock=clock, engine=primary)
    assert runtime.replica is not None
    yield runtime
    runtime.replica.engine.dispose()


def statements(engine: sa.Engine) -> list[str]:
    """Every statement `engine` sends from now on."""
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def listed(client: Any, path: str) -> list[str]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def replayed_case(api: Any, cluster: Cluster, primary: sa.Engine) -> dict[str, Any]:
    """A refund-only case of a delivered order, on the primary and replayed on the standby."""
    feed_order(api)
    case = file_case(api, type="refund_only")
    assert wait_until(lambda: cluster.caught_up(primary), timeout=30, poll=0.05)
    return case


def fallbacks(api: Any) -> float:
    text = api.as_("admin", "admin-1").get("/metrics").text
    found = re.search(r"^aftersales_replica_fallbacks_total (\S+)$", text, re.M)
    assert found, "no aftersales_replica_fallbacks_total in /metrics"
    return float(found.group(1))


def test_lists_and_timelines_read_the_replica_and_a_case_the_primary(
    replicated: Runtime, serve: Any, replica_cluster: Cluster, primary: sa.Engine
) -> None:
    api = serve(replicated)
    merchant = api.as_("merchant", **MERCHANT)
    case = replayed_case(api, replica_cluster, primary)
    replica_cluster.pause_replay()
    approved = merchant.post(f"/v1/after-sales/{case['id']}/approve", json={})  # on the primary only
    assert approved.status_code == 200, approved.text
    feed_order(api, "o-1002")
    other = file_case(api, "o-1002")

    # A case's own GET reads the primary: whoever just acted sees it, at its current version.
    own = merchant.get(f"/v1/after-sales/{case['id']}")
    assert own.status_code == 200 and own.headers["etag"] == f'"{approved.json()["version"]}"'
    assert own.json()["status"] == approved.json()["status"] != case["status"]
    # The list and the case's timeline come from the replica, which has replayed none of that.
    page = merchant.get("/v1/after-sales").json()["items"]
    assert [(c["id"], c["status"], c["version"]) for c in page] == [(case["id"], case["status"], case["version"])]
    events = merchant.get(f"/v1/after-sales/{case['id']}/events").json()["items"]
    assert [e["action"] for e in events] == ["file"]

    replica_cluster.resume_replay()
    assert wait_until(lambda: listed(merchant, "/v1/after-sales") == [other["id"], case["id"]], timeout=30, poll=0.05)
    events = merchant.get(f"/v1/after-sales/{case['id']}/events").json()["items"]
    assert [e["action"] for e in events][:2] == ["file", "approve"]


def test_actions_and_their_idempotency_keys_never_reach_the_replica(replicated: Runtime, serve: Any) -> None:
    assert replicated.replica is not None
    seen = statements(replicated.replica.engine)
    api = serve(replicated)
    feed_order(api)  # five POSTs
    buyer = api.as_("buyer", "b-1")
    key = {"Idempotency-Key": "file-once"}
    first = buyer.post("/v1/after-sales", json=case_body(), headers=key)
    again = buyer.post("/v1/after-sales", json=case_body(), headers=key)
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    case = first.json()
    approved = api.as_("merchant", **MERCHANT).post(
        f"/v1/after-sales/{case['id']}/approve",
        json={"return_address": "杭州"},
        headers={"If-Match": f'"{case["version"]}"'},
    )
    assert approved.status_code == 200, approved.text
    assert seen == [], seen
    # A console form, and the case page its redirect lands on, neither.
    console = Console(api, "merchant")
    csrf = console.csrf()  # from the queue, a list: the replica
    assert any("after_sales" in s for s in seen), "the queue did not read the replica"
    seen.clear()
    posted = console.http.post(f"/console/after-sales/{case['id']}/messages", data={"csrf": csrf, "body": "请寄回"})
    assert posted.status_code == 303 and "请寄回" in console.get(posted.headers["location"]).text
    console.close()
    assert seen == [], seen

    # (the standby replays the primary's writes a moment later: the list may lag, never err)
    merchant = api.as_("merchant", **MERCHANT)
    assert wait_until(lambda: listed(merchant, "/v1/after-sales") == [case["id"]], timeout=30, poll=0.05)
    assert any("after_sales" in s for s in seen), "the list did not read the replica"


def test_the_replica_engine_refuses_writes_even_on_a_server_that_takes_them(
    replica_cluster: Cluster, primary: sa.Engine
) -> None:
    """Every session of the replica engine is read-only: a URL naming the primary by mistake
    (or a write sent to the replica engine by mistake) is refused, not written."""
    for url in (replica_cluster.primary_url, replica_cluster.replica_url):
        engine = create_replica_engine(url)
        try:
            with pytest.raises(sa.exc.DBAPIError) as refused, engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE written_through_the_replica (x int)"))
            assert refused.value.orig.sqlstate == "25006", refused.value  # read_only_sql_transaction
        finally:
            engine.dispose()
    with primary.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('written_through_the_replica')")).scalar() is None


def test_healthz_reports_the_replicas_reachability_and_lag(
    replicated: Runtime, serve: Any, replica_cluster: Cluster
) -> None:
    api = serve(replicated)

    def replica() -> dict[str, Any]:
        r = api.anonymous.get("/healthz")
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()["replica"]
        return found

    assert replica() == {"status": "ok", "lag_seconds": 0.0, "in_recovery": True, "streaming": True}
    replica_cluster.pause_replay()
    feed_order(api)  # received by the standby, not applied
    assert wait_until(lambda: (replica()["lag_seconds"] or 0) > 0, timeout=10, poll=0.05), replica()
    replica_cluster.resume_replay()
    assert wait_until(lambda: replica()["lag_seconds"] == 0, timeout=30, poll=0.05), replica()


def test_a_replica_that_is_down_sends_its_reads_to_the_primary_until_it_answers_again(
    replicated: Runtime,
    serve: Any,
    replica_cluster: Cluster,
    primary: sa.Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert replicated.replica is not None
    now = [0.0]
    replicated.replica = Replica(replicated.replica.engine, monotonic=lambda: now[0])
    api = serve(replicated)
    merchant = api.as_("merchant", **MERCHANT)
    case = replayed_case(api, replica_cluster, primary)  # (the standby holds it before it stops)
    before = fallbacks(api)

    replica_cluster.stop_standby()
    with caplog.at_level(logging.WARNING, logger="aftersales.replica"):
        assert listed(merchant, "/v1/after-sales") == [case["id"]]  # the primary answered
        assert listed(merchant, "/v1/after-sales") == [case["id"]]
    assert fallbacks(api) == before + 2
    logged = [r.getMessage() for r in caplog.records if r.name == "aftersales.replica"]
    assert len(logged) == 1 and logged[0].startswith("read replica unreachable; its reads go to the primary"), logged
    health = api.anonymous.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["replica"] == {"status": "error", "error": "OperationalError"}

    replica_cluster.start_standby()
    replica_cluster.pause_replay()
    feed_order(api, "o-1002")
    second = file_case(api, "o-1002")  # on the primary only
    assert listed(merchant, "/v1/after-sales") == [second["id"], case["id"]]  # still resting: the primary
    now[0] += RETRY_AFTER
    assert listed(merchant, "/v1/after-sales") == [case["id"]]  # the replica again, behind the primary


def test_the_console_lists_from_the_replica_but_the_page_after_an_action_from_the_primary(
    replicated: Runtime, serve: Any, replica_cluster: Cluster, primary: sa.Engine
) -> None:
    api = serve(replicated)
    case = replayed_case(api, replica_cluster, primary)
    console = Console(api, "merchant")
    tick = f'name="case" value="{case["id"]}@{case["version"]}"'
    assert tick in console.get("/console/after-sales").text

    replica_cluster.pause_replay()
    form = {"csrf": console.csrf(), "case": f"{case['id']}@{case['version']}", "back": "/console/after-sales"}
    done = console.http.post("/console/after-sales/bulk-approve", data=form)
    assert done.status_code == 303
    # The page the redirect lands on shows the approval (its notice is waiting: the primary)...
    after = console.get(done.headers["location"])
    assert after.status_code == 200 and tick not in after.text
    # ...the next look at the queue is the replica's, which has not replayed the approval yet.
    assert tick in console.get("/console/after-sales").text
    console.close()
