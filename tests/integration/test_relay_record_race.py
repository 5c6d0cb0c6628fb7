"""A success recorded while a fan-out adds its subject's next delivery (PostgreSQL, where relays
run side by side): the fan-out holds the finished delivery's row, the record waits for it, and
the successor the fan-out committed meanwhile still falls due."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from aftersales.integrations.webhooks import Outcome
from aftersales.services import webhook_deliveries as queue
from aftersales.store import tables as t
from aftersales.store.unit_of_work import UnitOfWork
from builders import World
from waiting import wait_until
from webhook_world import endpoint, rows

D = t.webhook_deliveries.c


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_successor_fanned_out_while_its_predecessor_succeeds_falls_due(runtime, clock):
    endpoint(runtime, "http://127.0.0.1:9/hooks")
    w = World(runtime, clock)
    order = w.order(upto="created")
    now = clock.now()
    with UnitOfWork(runtime.engine) as uow:
        assert queue.fan_out(uow, now, 10) == 1
        uow.commit()
    with UnitOfWork(runtime.engine) as uow:
        [head] = queue.claim(uow, now, timedelta(seconds=60), 10)
        uow.commit()
    w.order_act(order.id, "pay")  # the subject's next event, not yet fanned out

    recorded, pid = threading.Event(), []

    def record() -> None:
        with UnitOfWork(runtime.engine) as uow:
            pid.append(uow.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            queue.record(uow, now, [(head, Outcome(204, 3, None))])
            uow.commit()
        recorded.set()

    with UnitOfWork(runtime.engine) as fanning:
        assert queue.fan_out(fanning, now, 10) == 1  # locks the head, adds its successor, waiting
        recorder = threading.Thread(target=record)
        recorder.start()
        waiting = sa.text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid")
        with runtime.engine.connect() as conn:
            assert wait_until(lambda: pid and conn.execute(waiting, {"pid": pid[0]}).scalar(), 10, poll=0.02)
        assert not recorded.is_set()
        fanning.commit()
    recorder.join(10)
    assert recorded.is_set()

    first, second = rows(runtime, t.webhook_deliveries, D.subject == head.message.subject, order=D.id)
    assert (first.status, second.status) == ("succeeded", "pending")
    assert second.next_attempt_at is not None  # due: not left waiting for a predecessor that is done
