"""The relay against a real receiver on loopback, on both databases: every event reaches every
endpoint that takes it, signed, once, in order per subject; retries move with the clock, a
receiver that keeps failing ends dead-lettered and then disabled; a private address is refused at
delivery time; the stream hook publishes in outbox order once acknowledged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.integrations.envelope import Message
from aftersales.services import webhook_deliveries as queue
from aftersales.store import tables as t
from builders import World
from conftest import START
from waiting import wait_until
from webhook_receiver import SECRET, Receiver
from webhook_world import OLD_SECRET, drain, endpoint, in_order_per_subject, outbox_ids, relay, rows

D = t.webhook_deliveries.c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def relays() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for r in made:
        r.close()


def _relay(relays: list[Any], runtime: Any, **options: Any) -> Any:
    relays.append(relay(runtime, **options))
    return relays[-1]


def _due(runtime: Any, clock: Any) -> bool:
    """Move the clock to the earliest retry still to come; False if none is."""
    with runtime.engine.connect() as conn:
        due = conn.execute(
            sa.select(sa.func.min(D.next_attempt_at)).where(D.status == "pending", D.next_attempt_at > clock.now())
        ).scalar()
    if due is None:
        return False
    clock.set(due)
    return True


def test_a_scripted_case_reaches_the_receiver_signed_once_each_in_order(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)
    w = World(runtime, clock)
    orders = [w.order() for _ in range(3)]
    for order in orders:
        w.walk(w.case(order), "approve", "ship_return")
    r = _relay(relays, runtime)

    assert drain(r) > 0
    got = receiver.snapshot()
    assert sorted(g.id for g in got) == sorted(outbox_ids(runtime))  # every event, once
    assert all(g.verified == [SECRET] for g in got)  # every signature verifies
    assert in_order_per_subject(got)
    assert {g.doc["type"] for g in got} >= {"order.created", "after_sale.created", "after_sale.approved"}
    assert {d.status for d in rows(runtime, t.webhook_deliveries)} == {"succeeded"}
    assert {r.delivered_at is not None for r in rows(runtime, t.outbox)} == {True}
    attempts = rows(runtime, t.webhook_attempts)
    assert len(attempts) == len(got) and {a.status_code for a in attempts} == {200}


def test_a_receiver_away_then_back_gets_everything_in_order(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)
    w = World(runtime, clock)
    for _ in range(3):
        w.walk(w.case(w.order()), "approve")
    receiver.stop()
    r = _relay(relays, runtime)
    drain(r)  # every subject's first delivery fails: connection refused
    failed = rows(runtime, t.webhook_attempts)
    assert failed and all(a.status_code is None and "Connect" in a.error for a in failed)
    assert receiver.snapshot() == []

    receiver.start()
    for _ in range(100):
        drain(r)
        if not _due(runtime, clock):
            break
    got = receiver.snapshot()
    assert sorted(g.id for g in got) == sorted(outbox_ids(runtime))
    assert in_order_per_subject(got)
    assert {d.status for d in rows(runtime, t.webhook_deliveries)} == {"succeeded"}


def test_500s_then_success_back_off_and_reset_the_failure_streak(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url, failure_streak=3)
    statuses = iter([500, 503])
    receiver.answer = lambda _: next(statuses, 200)
    World(runtime, clock).order(upto="created")  # one event
    r = _relay(relays, runtime)

    r.run_once()
    [delivery] = rows(runtime, t.webhook_deliveries)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert clock.now() <= delivery.next_attempt_at <= clock.now() + timedelta(seconds=5)
    assert r.run_once() == 0 or delivery.next_attempt_at == clock.now()  # not due before its time
    clock.set(delivery.next_attempt_at)
    r.run_once()
    [delivery] = rows(runtime, t.webhook_deliveries)
    assert delivery.attempts == 2 and delivery.next_attempt_at <= clock.now() + timedelta(seconds=30)
    clock.set(delivery.next_attempt_at)
    r.run_once()

    [delivery] = rows(runtime, t.webhook_deliveries)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert [a.status_code for a in rows(runtime, t.webhook_attempts)] == [500, 503, 200]
    assert len({g.id for g in receiver.snapshot()}) == 1  # the same webhook-id every time
    [ep] = rows(runtime, t.webhook_endpoints)
    assert ep.failure_streak == 0 and ep.status == "enabled"


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)
    receiver.answer = receiver.hold
    World(runtime, clock).order(upto="created")
    r = _relay(relays, runtime, timeout=0.3)
    r.run_once()
    receiver.release.set()
    [attempt] = rows(runtime, t.webhook_attempts)
    assert attempt.status_code is None and attempt.error.startswith("timed out")
    [delivery] = rows(runtime, t.webhook_deliveries)
    assert delivery.status == "pending" and delivery.last_error == attempt.error


def test_a_delivery_failing_for_24_hours_is_dead_and_no_longer_blocks_its_subject(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)
    w = World(runtime, clock)
    w.order(upto="stocking")  # order.created, then order.paid: one subject
    first = outbox_ids(runtime)[0]
    receiver.answer = lambda got: 500 if got.id == first else 200
    r = _relay(relays, runtime)
    for _ in range(100):
        r.run_once()
        if rows(runtime, t.webhook_deliveries, D.status == "dead"):
            break
        assert {g.id for g in receiver.snapshot()} == {first}, "the later event went before the first"
        _due(runtime, clock)

    [dead] = rows(runtime, t.webhook_deliveries, D.status == "dead")
    attempts = rows(runtime, t.webhook_attempts, t.webhook_attempts.c.delivery_id == dead.id)
    assert attempts[-1].at - attempts[0].at >= queue.GIVE_UP_AFTER > attempts[-2].at - attempts[0].at
    assert dead.attempts == len(attempts) >= 8 and dead.next_attempt_at is None
    drain(r)  # the dead one no longer holds the subject back
    assert [g.id for g in receiver.snapshot()][-1] == outbox_ids(runtime)[1]
    assert rows(runtime, t.webhook_endpoints)[0].status == "enabled"  # one dead letter is no streak


def test_an_endpoint_failing_every_delivery_is_disabled_and_its_owner_hears_of_it(runtime, clock, receiver, relays):
    failing = Receiver(answer=lambda _: 500)
    try:
        # Both the shop's: its other endpoint hears that the failing one was disabled.
        endpoint(runtime, failing.url, id="ep_failing", merchant="m-1", events=["order.*"])
        endpoint(runtime, receiver.url, id="ep_ops", merchant="m-1", events=["webhook_endpoint.*"])
        w = World(runtime, clock)
        for _ in range(queue.DISABLE_AFTER):
            w.order(upto="created")  # a subject each: their deliveries fail side by side
        r = _relay(relays, runtime)
        for _ in range(200):
            drain(r)
            if not _due(runtime, clock):
                break
    finally:
        failing.stop()
    assert len(rows(runtime, t.webhook_deliveries, D.status == "dead")) == queue.DISABLE_AFTER
    ep = rows(runtime, t.webhook_endpoints, t.webhook_endpoints.c.id == "ep_failing")[0]
    assert ep.status == "disabled" and ep.failure_streak == queue.DISABLE_AFTER and "24 hours" in ep.disabled_reason
    [event] = rows(runtime, t.events, t.events.c.subject_kind == "webhook_endpoint")
    assert (event.subject_id, event.action, event.after["status"]) == ("ep_failing", "disabled", "disabled")
    [heard] = receiver.snapshot()
    assert heard.doc["type"] == "webhook_endpoint.disabled" and heard.doc["data"]["id"] == "ep_failing"

    w.order(upto="created")  # a disabled endpoint takes no new deliveries
    drain(r)
    assert len(rows(runtime, t.webhook_deliveries, D.endpoint_id == "ep_failing")) == queue.DISABLE_AFTER


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new(runtime, clock, receiver, relays):
    receiver.secrets = [SECRET, OLD_SECRET]
    endpoint(runtime, receiver.url, previous=OLD_SECRET, previous_expires_at=clock.now() + timedelta(hours=1))
    w = World(runtime, clock)
    w.order(upto="created")
    r = _relay(relays, runtime)
    drain(r)
    [during] = receiver.snapshot()
    assert during.verified == [SECRET, OLD_SECRET]
    assert [s.split(",")[0] for s in during.headers["webhook-signature"].split(" ")] == ["v1", "v1"]

    clock.advance(timedelta(hours=1))
    w.order(upto="created")
    drain(r)
    after = receiver.snapshot()[-1]
    assert after.verified == [SECRET] and " " not in after.headers["webhook-signature"]


def test_a_private_address_is_refused_at_delivery_time(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)  # 127.0.0.1: allowed when created (say, by an operator), refused now
    World(runtime, clock).order(upto="created")
    r = _relay(relays, runtime, allow_private=False)
    r.run_once()
    [attempt] = rows(runtime, t.webhook_attempts)
    assert attempt.status_code is None and attempt.error.startswith("address refused")
    assert "127.0.0.1" in attempt.error
    assert receiver.snapshot() == []


def test_a_later_event_of_a_subject_waits_for_the_earlier_while_other_subjects_go_on(runtime, clock, receiver, relays):
    endpoint(runtime, receiver.url)
    w = World(runtime, clock)
    w.order(upto="stocking")  # o-1: created, paid
    w.order(upto="created")  # o-2: created
    first = outbox_ids(runtime)[0]

    def answer(got: Any) -> int:  # the first attempt at o-1's first event fails
        tries = [g for g in receiver.snapshot() if g.id == first]
        return 500 if got.id == first and len(tries) == 1 else 200

    receiver.answer = answer
    r = _relay(relays, runtime)
    drain(r)
    assert sorted(g.id for g in receiver.snapshot()) == sorted([first, outbox_ids(runtime)[2]])  # o-1 paid waits
    _due(runtime, clock)
    drain(r)
    assert [g.id for g in receiver.snapshot()][2:] == [first, outbox_ids(runtime)[1]]


def _outbox_row(conn: sa.Connection, event_id: int, type_kind: str, subject_id: str, merchant: str | None) -> None:
    payload = {
        "id": event_id,
        "subject_kind": type_kind,
        "subject_id": subject_id,
        "action": "create",
        "actor_role": "integration",
        "actor_id": "marketplace",
        "at": "2026-11-24T02:00:00+00:00",
        "before": None,
        "after": {"status": "new"},
        "data": {},
        "merchant_id": merchant,
    }
    conn.execute(
        t.outbox.insert().values(
            event_id=event_id, topic=f"{type_kind}.create", payload=payload, created_at=START, attempts=0
        )
    )


def test_fan_out_follows_owner_and_filters_and_a_second_pass_adds_nothing(runtime, clock, relays):
    url = "http://127.0.0.1:9/never"
    endpoint(runtime, url, id="ep_m1", merchant="m-1")
    endpoint(runtime, url, id="ep_m2", merchant="m-2")
    endpoint(runtime, url, id="ep_platform_cases", events=["after_sale.*"])
    endpoint(runtime, url, id="ep_off", status="disabled")
    with runtime.engine.begin() as conn:
        _outbox_row(conn, 1, "order", "o-1", "m-1")
        _outbox_row(conn, 2, "after_sale", "AS1", "m-1")
        _outbox_row(conn, 3, "after_sale", "AS2", None)
    with runtime.uow() as uow:
        assert queue.fan_out(uow, clock.now(), 100) == 3
        uow.commit()
        pairs = {(d.endpoint_id, d.event_id) for d in rows(runtime, t.webhook_deliveries)}
    assert pairs == {("ep_m1", 1), ("ep_m1", 2), ("ep_platform_cases", 2), ("ep_platform_cases", 3)}
    [delivery] = rows(runtime, t.webhook_deliveries, D.endpoint_id == "ep_m1", D.event_id == 2)
    assert (delivery.message_id, delivery.type, delivery.subject) == ("msg_2", "after_sale.created", "after_sale:AS1")

    with runtime.engine.begin() as conn:
        conn.execute(t.outbox.update().values(delivered_at=None))
    with runtime.uow() as uow:
        assert queue.fan_out(uow, clock.now(), 100) == 3
        uow.commit()
    assert len(rows(runtime, t.webhook_deliveries)) == 4


class RecordingStream:
    """A stream of our own interface that keeps what it was given (or fails when told)."""

    def __init__(self) -> None:
        self.published: list[Message] = []
        self.fail = False
        self.closed = False

    def publish(self, messages: Any) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.published.extend(messages)

    def close(self) -> None:
        self.closed = True


def test_the_stream_gets_every_outbox_row_in_order_once_acknowledged(runtime, clock, relays):
    stream = RecordingStream()
    w = World(runtime, clock)
    w.order(upto="stocking")
    stream.fail = True
    r = _relay(relays, runtime, stream=stream)
    with pytest.raises(ConnectionError):
        r.publish()
    assert {row.streamed_at for row in rows(runtime, t.outbox)} == {None}  # not acknowledged: not marked

    stream.fail = False
    drain(r)
    w.order(upto="created")
    drain(r)
    assert [m.id for m in stream.published] == outbox_ids(runtime)
    assert None not in {row.streamed_at for row in rows(runtime, t.outbox)}
    assert r.publish() == 0
    r.close()
    relays.remove(r)
    assert stream.closed


def test_a_slow_receiver_holds_one_sender_while_another_endpoint_gets_everything(runtime, clock, receiver, relays):
    slow = Receiver()
    slow.answer = slow.hold
    endpoint(runtime, slow.url, id="ep_slow")
    endpoint(runtime, receiver.url, id="ep_fast")
    w = World(runtime, clock)
    for _ in range(6):
        w.order(upto="created")  # six subjects, each due at both endpoints
    r = _relay(relays, runtime, pool_size=2, timeout=30)
    relays.remove(r)  # run_forever closes it
    stop = threading.Event()
    thread = threading.Thread(target=r.run_forever, args=(stop, 0.01), name="relay-under-test")
    thread.start()
    try:
        # Two senders, one held by the slow receiver from the start: the other serves the fast one.
        assert wait_until(lambda: len(receiver.snapshot()) == 6, 30), "the fast endpoint waited for the slow one"
    finally:
        stop.set()
        slow.release.set()
        thread.join(30)
        slow.stop()
    assert not thread.is_alive()
    assert len(rows(runtime, t.webhook_attempts)) >= 7  # the held attempt was recorded on the way out
    # A clean stop leaves no lease behind: what was not sent is due again at once.
    left = rows(runtime, t.webhook_deliveries, D.status != "succeeded")
    assert all(d.claimed_until is None and d.attempts == 0 for d in left)
