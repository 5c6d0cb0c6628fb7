"""Real `aftersales relay` processes on PostgreSQL: one SIGKILLed while a receiver holds its
request sends it again after a restart, with the same webhook-id; two at once deliver each event
once per endpoint, in order per subject."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftersales.config import Settings
from aftersales.runtime import Runtime
from aftersales.services import orders
from aftersales.services.context import Actor
from aftersales.store import tables as t
from bodies import order_body
from waiting import wait_until
from webhook_receiver import SECRET, Receiver
from webhook_world import endpoint, in_order_per_subject, outbox_ids, rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MARKET = Actor("integration", "marketplace")


def _runtime(pg_engine: sa.Engine, tmp_path: Path) -> Runtime:
    from conftest import PG_URL, clear_tables

    clear_tables(pg_engine)
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, jwt_secret="x" * 32, simulated_clock=False, demo=False)
    return Runtime.build(settings, engine=pg_engine)


def _relay(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    from conftest import PG_URL

    env = {
        **os.environ,
        "AFTERSALES_DATABASE_URL": PG_URL,
        "AFTERSALES_JWT_SECRET": "x" * 32,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        "AFTERSALES_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    log = open(tmp_path / f"relay-{len(list(tmp_path.glob('relay-*')))}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "aftersales.cli", "relay", "--poll", "0.05", *args], env=env, stdout=log, stderr=log
    )


def _orders(runtime: Runtime, first: int, n: int) -> None:
    with runtime.uow() as uow:
        for i in range(first, first + n):
            order = order_body(f"o-{i}", buyer=f"b-{i}")
            orders.create(uow, runtime.env, MARKET, order)
            orders.act(uow, runtime.env, MARKET, order["id"], "pay")
        uow.commit()


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_relay_killed_mid_delivery_sends_it_again_with_the_same_id(pg_engine, tmp_path):
    runtime = _runtime(pg_engine, tmp_path)
    receiver = Receiver()
    receiver.answer = lambda got: receiver.hold(got) if len(receiver.snapshot()) == 1 else 200
    endpoint(runtime, receiver.url)
    with runtime.uow() as uow:
        orders.create(uow, runtime.env, MARKET, order_body("o-1"))
        uow.commit()
    first = _relay(tmp_path, "--lease", "1")
    second = None
    try:
        assert wait_until(lambda: len(receiver.snapshot()) == 1, 60, poll=0.02), "the relay never sent"
        first.send_signal(signal.SIGKILL)  # while the receiver holds the request
        first.wait(timeout=10)
        receiver.release.set()
        assert rows(runtime, t.webhook_attempts) == []  # it died before it could record anything
        second = _relay(tmp_path, "--lease", "1")
        delivered = t.webhook_deliveries.c.status == "succeeded"
        assert wait_until(lambda: rows(runtime, t.webhook_deliveries, delivered), 60, poll=0.05)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0  # a clean stop
    finally:
        _stop(first, *([second] if second else []))
        receiver.stop()
    got = receiver.snapshot()
    assert [g.id for g in got] == outbox_ids(runtime) * 2  # the same webhook-id both times
    assert got[1].verified == [SECRET]
    [attempt] = rows(runtime, t.webhook_attempts)
    assert attempt.status_code == 200
    beats = rows(runtime, t.heartbeats)
    assert beats and {b.role for b in beats} == {"relay"}


def test_two_relays_deliver_each_event_once_per_endpoint_in_order(pg_engine, tmp_path):
    runtime = _runtime(pg_engine, tmp_path)
    receivers = [Receiver(), Receiver()]
    for i, receiver in enumerate(receivers):
        endpoint(runtime, receiver.url, id=f"ep_{i}")
    relays = [_relay(tmp_path), _relay(tmp_path)]
    try:
        for start in range(0, 60, 10):  # events keep coming while both relays run
            _orders(runtime, start, 10)
        expected = len(outbox_ids(runtime)) * len(receivers)
        succeeded = t.webhook_deliveries.c.status == "succeeded"
        assert wait_until(lambda: len(rows(runtime, t.webhook_deliveries, succeeded)) == expected, 120, poll=0.1)
        for proc in relays:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=30) for proc in relays] == [0, 0]
    finally:
        _stop(*relays)
        for receiver in receivers:
            receiver.stop()
    for receiver in receivers:
        got = receiver.snapshot()
        assert sorted(g.id for g in got) == sorted(outbox_ids(runtime))  # each once
        assert in_order_per_subject(got)
    assert len(rows(runtime, t.webhook_attempts)) == expected
    assert len({b.name for b in rows(runtime, t.heartbeats)}) == 2
