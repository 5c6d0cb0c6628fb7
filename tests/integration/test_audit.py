"""Audit replay on the demo marketplace: every order, case, dispute and complaint rebuilds from
its events alone, before and after days of deadlines fire; rows edited behind the engine's back
are reported, and `aftersales audit` says so with its exit status."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from aftersales import cli, demo
from aftersales.services import audit
from aftersales.store import tables as t
from builders import World


def _problems(runtime):
    with runtime.uow() as uow:
        return audit.verify_all(uow)


def _one(runtime, table, *where):
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where).order_by(table.c.id).limit(1)).one()


def _update(runtime, table, row_id, **values):
    with runtime.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == row_id).values(**values))


def test_every_subject_of_the_demo_replays_while_its_deadlines_fire(runtime, clock):
    demo.load(runtime)
    with runtime.engine.connect() as conn:
        counts = {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in audit.TABLES.values()
        }
    assert all(counts.values()), counts  # there is something of every kind to replay
    assert _problems(runtime) == []
    w = World(runtime, clock)
    fired = 0
    for _ in range(5):  # the demo's requests, disputes and complaint run out their timers
        fired += w.advance(days=3)
        assert _problems(runtime) == []
    assert fired >= 10
    with runtime.uow() as uow:
        for kind, table in audit.TABLES.items():
            for (subject_id,) in uow.execute(sa.select(table.c.id)):
                assert audit.verify(uow, kind, subject_id) == [], (kind, subject_id)


def test_a_status_changed_behind_the_engines_back_is_reported(runtime):
    demo.load(runtime)
    case = _one(runtime, t.after_sales, t.after_sales.c.status == "pending_merchant")
    _update(runtime, t.after_sales, case.id, status="refunded")
    assert _problems(runtime) == [f"after_sale {case.id}: status is 'refunded', its events give 'pending_merchant'"]


def test_money_deadlines_and_lost_events_are_reported(runtime):
    demo.load(runtime)
    order = _one(runtime, t.orders, t.orders.c.status == "completed")
    _update(runtime, t.orders, order.id, refunded_amount=order.refunded_amount + 1)
    dispute = _one(runtime, t.disputes, t.disputes.c.status == "appealed")
    _update(runtime, t.disputes, dispute.id, amount=dispute.amount * 2)
    case = _one(runtime, t.after_sales, t.after_sales.c.status == "awaiting_return")
    with runtime.engine.begin() as conn:
        conn.execute(t.deadlines.delete().where(t.deadlines.c.subject_id == case.id))
    problems = _problems(runtime)
    assert [p.split(":")[0] for p in problems] == [
        f"order {order.id}",
        f"after_sale {case.id}",
        f"dispute {dispute.id}",
    ]
    assert f"refunded_amount is {order.refunded_amount + 1}, its events give {order.refunded_amount}" in problems[0]
    assert "the deadlines table arms (None, None), its events give ('auto_close'" in problems[1]
    assert f"amount is {dispute.amount * 2}, its events give {dispute.amount}" in problems[2]


def test_a_missing_event_breaks_the_chain(runtime):
    demo.load(runtime)
    case = _one(runtime, t.after_sales, t.after_sales.c.status == "return_shipped")
    with runtime.engine.begin() as conn:
        e = t.events.c
        approve = conn.execute(sa.select(e.id).where(e.subject_id == case.id, e.action == "approve")).scalar_one()
        conn.execute(t.outbox.delete().where(t.outbox.c.event_id == approve))
        conn.execute(t.events.delete().where(e.id == approve))
    problems = _problems(runtime)
    assert all(p.startswith(f"after_sale {case.id}: ") for p in problems), problems
    assert "(ship_return) starts from status='awaiting_return', the timeline had 'pending_merchant'" in problems[0]
    # What the lost event wrote is reported too: the approval's return address, which every later
    # event's snapshot carries.
    assert any(f"starts from return_address={case.return_address!r}, the timeline had None" in p for p in problems)


def test_the_audit_command_exits_1_listing_mismatches_and_0_when_every_subject_replays(runtime, monkeypatch, capsys):
    monkeypatch.setenv("AFTERSALES_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(runtime.settings.data_dir))
    demo.load(runtime)
    cli.main(["audit"])
    assert "replays" in capsys.readouterr().out
    case = _one(runtime, t.after_sales, t.after_sales.c.status == "rejected")
    _update(runtime, t.after_sales, case.id, status="closed")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["audit"])
    assert exit_.value.code == 1
    out = capsys.readouterr()
    assert f"after_sale {case.id}: status is 'closed'" in out.out and "1 mismatches" in out.err


def test_replay_needs_nothing_but_the_events(runtime, clock):
    """`replay` on a case's event rows alone (no database) gives its stored fields."""
    w = World(runtime, clock)
    case = w.walk(w.case(), "approve", "ship_return")
    clock.advance(timedelta(hours=1))
    case = w.act(case.id, "confirm_receipt")
    problems: list[str] = []
    state = audit.replay(w.events(case.id), problems=problems)
    assert problems == []
    assert {
        k: state[k]
        for k in ("status", "amount", "deadline_action", "deadline_due_at", "refunded", "return_tracking", "closed_at")
    } == {
        "status": "refunded",
        "amount": case.amount,
        "deadline_action": None,
        "deadline_due_at": None,
        "refunded": case.amount,
        "return_tracking": "ZT1",
        "closed_at": clock.now(),
    }
