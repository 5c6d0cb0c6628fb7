"""The engine fires system actions that only touch their subject set-based, many per statement.
It must leave exactly what the service path (`orders.act` / `cases.act`, one at a time) leaves:
the same subject row, next deadline, event and outbox message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.services import cases, orders, parties
from aftersales.services.context import SYSTEM
from aftersales.services.reminders import REMINDED  # reminders are system events too, not firings
from aftersales.store import tables as t
from builders import BUYER, MARKETPLACE, World

# Fields that differ between two subjects whatever the path: their ids and the buyer's own.
_OWN = {"id", "order_id", "units", "tracking_number", "return_tracking"}  # (units name the holding case)


def _awaiting_payment(w: World) -> tuple[str, str]:
    return "order", w.order(upto="awaiting_payment").id


def _delivered(w: World) -> tuple[str, str]:
    return "order", w.order().id


def _pending_return(w: World) -> tuple[str, str]:
    return "after_sale", w.case().id


def _pending_exchange(w: World) -> tuple[str, str]:
    return "after_sale", w.case(type_="exchange").id


def _pending_return_with_a_book(w: World) -> tuple[str, str]:
    """(auto_approve then writes the merchant's default return address)"""
    book = [{"id": "hz", "name": "陈师傅", "phone": "0571-1", "address": "杭州市龙井路 18 号"}]
    with w.runtime.uow() as uow:
        parties.upsert_merchant(uow, w.runtime.env, MARKETPLACE, "m-1", {"name": "茶庄", "return_addresses": book})
        uow.commit()
    return "after_sale", w.case().id


SERVICE: dict[str, Callable[..., Any]] = {
    "order": lambda uow, env, row: orders.act(uow, env, SYSTEM, row.subject_id, row.action, deadline_id=row.id),
    "after_sale": lambda uow, env, row: cases.act(uow, env, SYSTEM, row.subject_id, row.action, deadline_id=row.id),
}
TABLES = {"order": t.orders, "after_sale": t.after_sales}


@pytest.mark.parametrize(
    "arrange,lapse,action",
    [
        (_awaiting_payment, timedelta(hours=24), "auto_cancel"),
        (_delivered, timedelta(days=7), "auto_complete"),
        (_pending_return, timedelta(hours=48), "auto_approve"),
        (_pending_exchange, timedelta(hours=48), "auto_approve"),
        (_pending_return_with_a_book, timedelta(hours=48), "auto_approve"),
    ],
)
def test_set_based_firing_writes_what_the_service_path_writes(runtime, clock, arrange, lapse, action):
    w = World(runtime, clock)
    kind, by_service = arrange(w)
    _, by_engine = arrange(w)
    clock.advance(lapse)

    with runtime.uow() as uow:  # what a worker does for one deadline when it goes through the service
        row = uow.execute(
            sa.delete(t.deadlines).where(t.deadlines.c.subject_id == by_service).returning(t.deadlines)
        ).one()
        assert row.action == action
        SERVICE[kind](uow, runtime.env, row)
        uow.commit()
    engine = w.engine()
    assert engine.run_once() == 1
    assert engine.stats.fired == 1 and engine.stats.skipped == 0

    service, set_based = _written(runtime, kind, by_service), _written(runtime, kind, by_engine)
    assert set_based == service
    assert set_based["subject"]["status"] != "pending_merchant"  # (it did move)


def test_a_batch_mixing_set_based_and_service_firings_fires_each_once(runtime, clock):
    w = World(runtime, clock)
    returns = [w.case().id for _ in range(3)]  # auto_approve: set-based
    refunds = [w.case(type_="refund_only").id for _ in range(2)]  # auto_approve with a refund: service
    unpaid = [w.order(upto="awaiting_payment").id for _ in range(2)]  # auto_cancel: set-based
    clock.advance(timedelta(hours=48))

    engine = w.engine(batch_size=100)
    assert engine.run_once() == 7
    assert [w.get_case(c).status for c in returns] == ["awaiting_return"] * 3
    assert [w.get_case(c).status for c in refunds] == ["refunded"] * 2
    assert [w.get_order(o).status for o in unpaid] == ["cancelled"] * 2
    assert len(w.refunds()) == 2
    for subject in returns + refunds + unpaid:
        fired = [e for e in w.events(subject) if e.actor_role == "system" and e.action != REMINDED]
        assert len(fired) == 1 and fired[0].deadline_id is not None
    assert engine.run_once() == 0  # nothing left due: each deadline was consumed with its firing


def test_a_stale_deadline_is_consumed_without_effect(runtime, clock):
    w = World(runtime, clock)
    case_id = w.case().id
    with runtime.engine.begin() as conn:  # the subject moved on without disarming (as after a bug)
        conn.execute(
            sa.update(t.after_sales).where(t.after_sales.c.id == case_id).values(version=t.after_sales.c.version + 1)
        )
    clock.advance(timedelta(hours=48))
    engine = w.engine()
    assert engine.run_once() == 0
    assert engine.stats.skipped == 1
    assert w.get_case(case_id).status == "pending_merchant"
    assert w.deadlines(case_id) == []


def test_batches_are_taken_oldest_first_and_never_twice(runtime, clock):
    w = World(runtime, clock)
    first = [w.order(upto="awaiting_payment").id for _ in range(3)]
    clock.advance(timedelta(hours=1))
    later = [w.order(upto="awaiting_payment").id for _ in range(3)]
    clock.advance(timedelta(hours=24))

    engine = w.engine(batch_size=3)
    assert engine.run_once() == 3
    assert {w.get_order(o).status for o in first} == {"cancelled"}
    assert {w.get_order(o).status for o in later} == {"awaiting_payment"}
    assert engine.run_once() == 3 and engine.run_once() == 0
    assert engine.stats.taken == 6


def _written(runtime, kind: str, subject_id: str) -> dict[str, Any]:
    """Everything the firing wrote about one subject, without what names the subject itself."""
    table = TABLES[kind]
    with runtime.engine.connect() as conn:
        subject = conn.execute(sa.select(table).where(table.c.id == subject_id)).one()._asdict()
        deadline = [
            r._asdict()
            for r in conn.execute(
                sa.select(t.deadlines.c.action, t.deadlines.c.due_at, t.deadlines.c.armed_version).where(
                    t.deadlines.c.subject_id == subject_id
                )
            )
        ]
        events = conn.execute(
            sa.select(t.events).where(
                t.events.c.subject_id == subject_id, t.events.c.actor_role == "system", t.events.c.action != REMINDED
            )
        ).all()
        outbox = conn.execute(sa.select(t.outbox).where(t.outbox.c.event_id.in_([e.id for e in events]))).all()
    assert len(events) == 1 and len(outbox) == 1
    event, message = events[0]._asdict(), outbox[0]._asdict()
    assert message["payload"]["id"] == event["id"] and message["payload"]["deadline_id"] == event["deadline_id"]
    payload = {k: v for k, v in message["payload"].items() if k not in ("id", "subject_id", "deadline_id")}
    return {
        "subject": {k: v for k, v in subject.items() if k not in _OWN},
        "deadline": deadline,
        "event": {k: v for k, v in event.items() if k not in ("id", "subject_id", "deadline_id")},
        "outbox": {"topic": message["topic"], "created_at": message["created_at"], "payload": payload},
    }


def test_a_row_handed_back_behind_the_cursor_is_taken_within_a_rescan(runtime, clock):
    from aftersales.worker.engine import RESCAN_EVERY

    w = World(runtime, clock)
    unpaid = [w.order(upto="awaiting_payment").id for _ in range(2 * RESCAN_EVERY + 6)]
    clock.advance(timedelta(hours=25))
    engine = w.engine(batch_size=2)
    assert engine.run_once() == 2  # a full batch: the next one resumes after it
    # A worker that died mid-batch hands its rows back: here, one due before the cursor.
    back = unpaid[-1]
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(t.deadlines)
            .where(t.deadlines.c.subject_id == back)
            .values(due_at=clock.now() - timedelta(days=2))
        )
    for _ in range(RESCAN_EVERY + 1):
        engine.run_once()
    assert w.get_order(back).status == "cancelled"
    assert sum(w.get_order(o).status == "cancelled" for o in unpaid) < len(unpaid)  # (the others still due)


def test_an_idle_worker_waits_until_the_next_deadline_falls_due_at_most_a_poll(runtime, clock):
    w = World(runtime, clock)
    engine = w.engine()
    assert engine.idle_wait(1.0) == 1.0  # nothing armed
    w.order(upto="awaiting_payment")  # auto_cancel due in 24 h
    assert engine.idle_wait(1.0) == 1.0
    clock.advance(timedelta(hours=24) - timedelta(milliseconds=250))
    assert engine.idle_wait(1.0) == pytest.approx(0.25, abs=0.01)
    clock.advance(timedelta(milliseconds=250))
    assert engine.idle_wait(1.0) == 1.0  # due now: it is another worker's, or the next batch's


def test_a_fired_deadlines_id_never_comes_back_for_a_later_one(runtime, clock):
    w = World(runtime, clock)
    order = w.order(upto="delivered")  # auto_complete armed
    first = w.deadlines(order.id)[0].id
    # Filing pauses the order's timer (its row goes), withdrawing re-arms it under a new id.
    w.act(w.case(order).id, "withdraw", actor=BUYER)
    second = w.deadlines(order.id)[0].id
    w.advance(days=7)  # fired
    w.order(upto="delivered")
    newest = max(d.id for d in w._rows(t.deadlines, {}))
    assert first < second < newest
    assert len({e.deadline_id for e in w._rows(t.events, {}) if e.deadline_id}) == len(
        [e for e in w._rows(t.events, {}) if e.deadline_id]
    )
