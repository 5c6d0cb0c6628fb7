"""A real `aftersales worker` process is SIGKILLed mid-run, while it holds a batch of deadlines
in an open transaction; the database hands them back at once, the other workers fire them,
and every deadline has its effect exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftersales.config import Settings
from aftersales.runtime import Runtime
from aftersales.services import cases, orders
from aftersales.services.context import Actor
from aftersales.store import tables as t

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
N = 600
MARKET = Actor("integration", "marketplace")


def _arrange(runtime: Runtime) -> None:
    """N delivered orders, each with a pending request (auto_approve due in 48 h)."""
    env = runtime.env
    for start in range(0, N, 100):
        with runtime.uow() as uow:
            for i in range(start, start + 100):
                order = {
                    "id": f"o-{i}",
                    "buyer_id": f"b-{i}",
                    "merchant_id": "m-1",
                    "payment_method": "online",
                    "currency": "CNY",
                    "shipping_fee": 0,
                    "policy": None,
                    "items": [{"sku": "s", "title": "t", "quantity": 1, "unit_price": 1000}],
                }
                orders.create(uow, env, MARKET, order)
                for action, params in [
                    ("pay", {}),
                    ("ship", {"carrier": "SF", "tracking_number": f"SF{i}"}),
                    ("deliver", {}),
                ]:
                    orders.act(uow, env, MARKET, order["id"], action, params)
                cases.file(
                    uow,
                    env,
                    Actor("buyer", f"b-{i}"),
                    {"order_id": order["id"], "type": "return_refund", "reason": "damaged", "amount": None},
                )
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


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_killed_workers_deadlines_are_fired_by_the_others_exactly_once(pg_engine, tmp_path):
    from conftest import PG_URL, _truncate

    _truncate(pg_engine)
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, jwt_secret="x" * 32, simulated_clock=True, demo=False)
    runtime = Runtime.build(settings, engine=pg_engine)
    runtime.sim_clock.initialise()
    _arrange(runtime)
    runtime.sim_clock.advance(timedelta(hours=48, seconds=1))

    approvals = sa.select(sa.func.count()).select_from(t.events).where(t.events.c.action == "auto_approve")
    # A batch in flight: the worker's transaction holds locks on deadline rows it deleted.
    held = sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = 'killed-worker' AND l.locktype = 'transactionid'"
    )
    # One deadline a transaction, so the kill lands long before this worker could finish alone.
    first = _worker(PG_URL + "&application_name=killed-worker", tmp_path, batch=1)
    others: list[subprocess.Popen[bytes]] = []
    try:
        assert _wait_for(lambda: _count(pg_engine, approvals) > 0 and _count(pg_engine, held) > 0, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        fired_before = _count(pg_engine, approvals)
        assert fired_before < N, "the kill must come while deadlines are left"
        others = [_worker(PG_URL, tmp_path), _worker(PG_URL, tmp_path)]
        assert _wait_for(lambda: _count(pg_engine, approvals) >= N, timeout=120)
        time.sleep(0.5)  # let any duplicate delivery in flight finish before counting
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
