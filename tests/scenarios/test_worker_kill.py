"""A real `aftersales worker` process is SIGKILLed mid-run, while it holds a batch of deadlines
in an open transaction; the database hands them back at once, the other workers fire them,
and every deadline has its effect exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftersales.config import Settings
from aftersales.runtime import Runtime
from aftersales.services import cases, orders
from aftersales.services.context import Actor
from aftersales.store import tables as t
from bodies import case_body, order_body, order_path, ship_params
from waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
N = 600
MARKET = Actor("integration", "marketplace")


def _arrange(runtime: Runtime) -> None:
    """N delivered orders, each with a pending request (auto_approve due in 48 h)."""
    env = runtime.env
    for start in range(0, N, 100):
        with runtime.uow() as uow:
            for i in range(start, start + 100):
                order = order_body(f"o-{i}", buyer=f"b-{i}", quantity=1, unit_price=1000, shipping_fee=0)
                orders.create(uow, env, MARKET, order)
                for action in order_path("online", "delivered"):
                    orders.act(
                        uow, env, MARKET, order["id"], action, ship_params(order["id"]) if action == "ship" else {}
                    )
                cases.file(uow, env, Actor("buyer", f"b-{i}"), case_body(order["id"], reason="damaged"))
            uow.commit()


def _worker(db_url: str, data_dir: Path, batch: int = 25) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": db_url,
        "AFTERSALES_JWT_SECRET": "x" * 32,
        "AFTERSALES_DATA_DIR": str(data_dir),
        "AFTERSALES_CLOCK": "simulated",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "aftersales.cli", "worker", "--lease", "2", "--batch", str(batch), "--poll", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(engine: sa.Engine, query: sa.Select) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_killed_workers_deadlines_are_fired_by_the_others_exactly_once(pg_engine, tmp_path):
    from conftest import PG_URL, clear_tables

    clear_tables(pg_engine)
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, jwt_secret="x" * 32, simulated_clock=True, demo=False)
    runtime = Runtime.build(settings, engine=pg_engine)
    runtime.sim_clock.initialise()
    _arrange(runtime)
    runtime.sim_clock.advance(timedelta(hours=48, seconds=1))

    approvals = sa.select(sa.func.count()).select_from(t.events).where(t.events.c.action == "auto_approve")
    # The workers' connections, by an application_name of this test process's own (parallel runs
    # in other schemas have theirs).
    killed, other = f"killed-worker-{os.getpid()}", f"other-worker-{os.getpid()}"
    # A batch in flight: the worker's transaction holds locks on deadline rows it deleted.
    held = sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = :name AND l.locktype = 'transactionid'"
    ).bindparams(name=killed)
    connections = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name IN (:killed, :other)"
    ).bindparams(killed=killed, other=other)
    # One deadline a transaction, so the kill lands long before this worker could finish alone.
    first = _worker(f"{PG_URL}&application_name={killed}", tmp_path, batch=1)
    others: list[subprocess.Popen[bytes]] = []
    try:
        assert wait_until(lambda: _count(pg_engine, approvals) > 0 and _count(pg_engine, held) > 0, 120, poll=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        fired_before = _count(pg_engine, approvals)
        assert fired_before < N, "the kill must come while deadlines are left"
        others = [_worker(f"{PG_URL}&application_name={other}", tmp_path) for _ in range(2)]
        assert wait_until(lambda: _count(pg_engine, approvals) >= N, 120, poll=0.02)
        # Nothing can still be in flight once every worker has stopped (SIGTERM: each finishes
        # its batch and exits) and the database has ended every session they had, the killed
        # worker's too: only then is the count final.
        for proc in others:
            proc.send_signal(signal.SIGTERM)
        for proc in others:
            assert proc.wait(timeout=30) == 0
        assert wait_until(lambda: _count(pg_engine, connections) == 0, 30, poll=0.02), "a worker's session lingers"
    finally:
        for proc in [first, *others]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)

    with pg_engine.connect() as conn:
        per_case = conn.execute(
            sa.select(t.events.c.subject_id, sa.func.count())
            .where(t.events.c.action == "auto_approve")
            .group_by(t.events.c.subject_id)
        ).all()
        statuses = conn.execute(
            sa.select(t.after_sales.c.status, sa.func.count()).group_by(t.after_sales.c.status)
        ).all()
        pending = conn.execute(
            sa.select(t.deadlines.c.action, sa.func.count())
            .where(t.deadlines.c.subject_kind == "after_sale")
            .group_by(t.deadlines.c.action)
        ).all()
    assert len(per_case) == N and {count for _, count in per_case} == {1}
    assert dict(statuses) == {"awaiting_return": N}
    assert dict(pending) == {"auto_close": N}  # each case armed its next step, once
