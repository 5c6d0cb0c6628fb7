"""Reminders before a party's deadline: once per threshold of the policy (24 h and 4 h before),
to the party that can still act, anew for each new deadline, and on the timeline as a notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from aftersales.integrations import envelope
from aftersales.services import audit, reminders
from aftersales.services.transitions import meta
from aftersales.store import tables as t
from builders import World


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _reminders(w: World, subject_id: str) -> list[dict]:
    return [e.data for e in w.events(subject_id) if e.action == "deadline_approaching"]


def test_the_merchant_is_reminded_a_day_and_four_hours_before_its_48_hours_run_out(w: World) -> None:
    case = w.case()  # pending_merchant: auto_approve in 48 h
    w.advance(hours=23, minutes=59)
    assert _reminders(w, case.id) == []
    w.advance(minutes=1)
    first = _reminders(w, case.id)
    assert [(r["deadline"], r["hours_before"], r["parties"]) for r in first] == [("auto_approve", 24, ["merchant"])]
    assert first[0]["due_at"] == case.deadline_due_at.isoformat() and first[0]["seconds_left"] == 24 * 3600
    w.advance(hours=19)  # 5 h left: nothing new
    assert len(_reminders(w, case.id)) == 1
    w.advance(hours=1)
    assert [r["hours_before"] for r in _reminders(w, case.id)] == [24, 4]
    w.advance(hours=4)  # auto-approved: now the buyer has 7 days to ship the goods back
    assert w.get_case(case.id).status == "awaiting_return"
    w.advance(days=6)
    last = _reminders(w, case.id)[-1]
    assert (last["deadline"], last["hours_before"], last["parties"]) == ("auto_close", 24, ["buyer"])


def test_a_reminder_is_written_once_however_often_workers_look(w: World) -> None:
    case = w.case()
    w.clock.advance(timedelta(hours=30))
    with w.runtime.uow() as uow:
        assert reminders.send_due(uow, w.runtime.env, w.clock.now()) == 1
        uow.commit()
    with w.runtime.uow() as uow:
        assert reminders.send_due(uow, w.runtime.env, w.clock.now()) == 0
        uow.commit()
    assert len(_reminders(w, case.id)) == 1


def test_a_deadline_already_close_when_first_looked_at_gets_only_the_nearest_reminder(w: World) -> None:
    case = w.case()
    w.advance(hours=45)  # no worker looked until 3 h before: "a day left" would be wrong now
    assert [r["hours_before"] for r in _reminders(w, case.id)] == [4]


def test_a_new_deadline_is_reminded_anew_and_nobody_is_reminded_of_what_they_cannot_avert(w: World) -> None:
    case = w.case()
    w.advance(hours=25)
    w.walk(case, "approve")  # the merchant answered: the buyer's return timer starts
    w.advance(days=6)
    assert [(r["deadline"], r["hours_before"]) for r in _reminders(w, case.id)] == [
        ("auto_approve", 24),
        ("auto_close", 24),
    ]
    order_reminders = _reminders(w, case.order_id)
    assert order_reminders == []  # an order's own timers wait on nobody's action here


def test_reminders_are_messages_with_the_subject_s_meta_and_the_timeline_stays_sound(w: World) -> None:
    case = w.case()
    w.advance(hours=24)
    reminder = next(e for e in w.events(case.id) if e.action == "deadline_approaching")
    assert (reminder.before, reminder.after, reminder.actor_role) == ({}, {}, "system")
    with w.runtime.uow() as uow:
        assert audit.verify_all(uow) == []
        subject = uow.cases.get(case.id)
    with w.runtime.engine.connect() as conn:
        topic, payload = conn.execute(
            sa.select(t.outbox.c.topic, t.outbox.c.payload).where(t.outbox.c.event_id == reminder.id)
        ).one()
    message = envelope.from_outbox(topic, payload)
    assert message.type == "after_sale.deadline_approaching"
    assert message.data["next_deadline"] == meta(subject)["next_deadline"]
    assert message.merchant_id == "m-1"
