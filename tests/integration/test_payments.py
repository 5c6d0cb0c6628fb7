"""Refunds through the payment provider: decided `pending`, submitted after commit under our
refund id (the provider's idempotency key), `succeeded` once the provider pays, `failed` after
bounded tries and handed to agents, `late` past the policy's working days. On both databases,
with the clock moved, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from aftersales.domain.errors import Conflict, Forbidden, NotFound
from aftersales.integrations.payments import SimulatedProvider, Submission
from aftersales.services import audit, payments, reads
from aftersales.store import tables as t
from builders import AGENT, BUYER, World


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


@pytest.fixture
def provider(runtime) -> SimulatedProvider:
    assert isinstance(runtime.payments, SimulatedProvider)
    return runtime.payments


def _cancelled(w: World) -> dict:
    """A paid online order the buyer cancels before it ships: refunded in full, shipping included."""
    order = w.order(upto="stocking")
    w.order_act(order.id, "cancel", {"reason": "拍错"}, actor=BUYER)
    [refund] = w.refunds(order_id=order.id)
    return dict(refund._mapping)


def _pass(w: World) -> payments.Pass:
    return payments.run(w.runtime.engine, w.runtime.env, w.runtime.payments)


def _refund(w: World, refund_id: str) -> dict:
    [row] = w.refunds(id=refund_id)
    return dict(row._mapping)


def _refund_events(w: World, refund_id: str) -> list[str]:
    return [e.action for e in w.events(refund_id) if e.subject_kind == "refund"]


def _audit_clean(w: World) -> None:
    with w.runtime.uow() as uow:
        assert audit.verify_all(uow) == []


def test_a_decided_refund_is_pending_and_counted_then_paid_once_by_the_next_pass(w, provider):
    refund = _cancelled(w)
    order = w.get_order(refund["order_id"])
    assert refund["status"] == "pending" and refund["completed_at"] is None
    # Counted at once: nothing more is refundable while the transfer is under way.
    assert order.refunded_amount == order.paid_amount == refund["amount"]
    assert provider.ledger() == []
    assert _pass(w).submitted == 1
    paid = _refund(w, refund["id"])
    assert paid["status"] == "succeeded" and paid["completed_at"] == w.clock.now()
    assert paid["provider"] == "simulated" and paid["provider_ref"] == f"sim-{refund['id']}"
    assert [(p["refund_id"], p["amount"], p["state"]) for p in provider.ledger()] == [
        (refund["id"], refund["amount"], "succeeded")
    ]
    assert _refund_events(w, refund["id"]) == ["succeeded"]
    assert _pass(w).submitted == 0  # nothing left to do
    _audit_clean(w)


def test_a_timeout_after_the_provider_paid_is_retried_and_pays_once(w, provider):
    provider.set_fault("timeout")
    refund = _cancelled(w)
    _pass(w)
    tried = _refund(w, refund["id"])
    assert tried["status"] == "pending" and tried["attempts"] == 1 and tried["last_error"].startswith("timeout")
    assert [p["state"] for p in provider.ledger()] == ["succeeded"]  # the dangerous case: it did pay
    assert _pass(w).submitted == 0  # the retry waits its backoff
    w.clock.advance(payments.BACKOFF[0])
    _pass(w)
    assert _refund(w, refund["id"])["status"] == "succeeded"
    [books] = provider.ledger()
    assert (books["refund_id"], books["amount"], books["submissions"]) == (refund["id"], refund["amount"], 2)
    assert _refund_events(w, refund["id"]) == ["succeeded"]


def test_a_refused_refund_is_retried_with_backoff_then_failed_and_an_agent_retries_it(w, provider):
    provider.set_fault("error")
    refund = _cancelled(w)
    _pass(w)
    assert (_refund(w, refund["id"])["status"], _refund(w, refund["id"])["attempts"]) == ("pending", 1)
    for wait in payments.BACKOFF:
        w.clock.advance(wait - timedelta(seconds=1))
        assert _pass(w).submitted == 0
        w.clock.advance(timedelta(seconds=1))
        assert _pass(w).submitted == 1
    failed = _refund(w, refund["id"])
    assert failed["status"] == "failed" and failed["attempts"] == payments.MAX_ATTEMPTS
    assert failed["next_attempt_at"] is None and "refused" in failed["last_error"]
    assert _refund_events(w, refund["id"]) == ["failed"]
    # Never lost: still counted on the order, and in the agents' queue.
    order = w.get_order(refund["order_id"])
    assert order.refunded_amount == refund["amount"]
    with w.runtime.uow() as uow:
        assert [r["id"] for r in reads.refund_list(uow, AGENT, status="failed")] == [refund["id"]]
        assert reads.refund_list(uow, AGENT, status="pending") == []
    w.clock.advance(timedelta(days=1))
    assert _pass(w).submitted == 0  # no more tries by itself
    provider.set_fault("none")
    with w.runtime.uow() as uow, pytest.raises(Forbidden):
        payments.retry(uow, w.runtime.env, BUYER, refund["id"])
    with w.runtime.uow() as uow:
        again = payments.retry(uow, w.runtime.env, AGENT, refund["id"])
        uow.commit()
    assert again["status"] == "pending" and again["attempts"] == 0
    assert _pass(w).submitted == 1
    assert _refund(w, refund["id"])["status"] == "succeeded"
    assert _refund_events(w, refund["id"]) == ["failed", "retried", "succeeded"]
    [books] = provider.ledger()
    assert books["state"] == "succeeded" and books["submissions"] == payments.MAX_ATTEMPTS + 1
    with w.runtime.uow() as uow, pytest.raises(Conflict) as refused:
        payments.retry(uow, w.runtime.env, AGENT, refund["id"])
    assert refused.value.code == "refund_not_failed"
    with w.runtime.uow() as uow, pytest.raises(NotFound):
        payments.retry(uow, w.runtime.env, AGENT, "rf_missing")
    _audit_clean(w)


def test_a_submission_interrupted_between_the_provider_and_our_record_is_resubmitted_and_pays_once(w, provider):
    refund = _cancelled(w)
    # A worker claims the refund, the provider pays it, and the worker dies before recording.
    [claimed] = payments.claim(w.runtime.engine, w.runtime.env)
    assert claimed["id"] == refund["id"]
    answer = provider.submit(Submission.of(refund))
    assert answer.state == "succeeded"
    assert _refund(w, refund["id"])["status"] == "pending"
    assert _pass(w).submitted == 0  # another worker leaves it alone while the claim lasts
    w.clock.advance(payments.LEASE)
    assert _pass(w).submitted == 1
    assert _refund(w, refund["id"])["status"] == "succeeded"
    [books] = provider.ledger()
    assert books["submissions"] == 2 and books["amount"] == refund["amount"]


def test_a_slow_refund_is_late_after_fifteen_working_days_with_new_years_day_off(w, provider):
    # Monday 21 December 2026, 10:00 in Beijing: New Year's Day (Friday 1 January 2027) is a
    # holiday, so the 15th working day is Tuesday 12 January (counting weekdays alone, Monday 11).
    w.clock.set(datetime(2026, 12, 21, 2, 0, tzinfo=UTC))
    provider.set_fault("slow", timedelta(days=40))
    refund = _cancelled(w)
    _pass(w)
    accepted = _refund(w, refund["id"])
    assert accepted["status"] == "pending" and accepted["provider_ref"] == f"sim-{refund['id']}"
    assert accepted["confirm_by"] == datetime(2027, 1, 12, 2, 0, tzinfo=UTC)
    w.clock.set(datetime(2027, 1, 11, 2, 0, tzinfo=UTC))
    payments.run_until_idle(w.runtime.engine, w.runtime.env, provider)
    w.clock.set(datetime(2027, 1, 12, 1, 59, tzinfo=UTC))
    assert payments.run_until_idle(w.runtime.engine, w.runtime.env, provider).flagged_late == 0
    assert _refund(w, refund["id"])["late"] is False
    w.clock.set(datetime(2027, 1, 12, 2, 0, tzinfo=UTC))
    assert payments.run_until_idle(w.runtime.engine, w.runtime.env, provider).flagged_late == 1
    late = _refund(w, refund["id"])
    assert late["late"] is True and late["status"] == "pending"
    [event] = [e for e in w.events(refund["id"]) if e.action == "late"]
    assert event.subject_kind == "refund" and event.after == {"status": "pending", "late": True}
    with w.runtime.engine.connect() as conn:
        topics = conn.execute(sa.select(t.outbox.c.topic).where(t.outbox.c.event_id == event.id)).scalars().all()
    assert topics == ["refund.late"]
    with w.runtime.uow() as uow:
        assert [r["id"] for r in reads.refund_list(uow, AGENT, late=True)] == [refund["id"]]
    assert payments.run_until_idle(w.runtime.engine, w.runtime.env, provider).flagged_late == 0  # once
    # The provider confirms 40 days after it accepted; the next poll records it, still marked late.
    w.clock.set(datetime(2027, 1, 30, 3, 0, tzinfo=UTC))
    payments.run_until_idle(w.runtime.engine, w.runtime.env, provider)
    done = _refund(w, refund["id"])
    assert done["status"] == "succeeded" and done["late"] is True
    assert _refund_events(w, refund["id"]) == ["late", "succeeded"]
    assert len(provider.ledger()) == 1


def test_two_payment_loops_at_once_submit_each_refund_once(w, provider):
    import threading

    refunds = [_cancelled(w)["id"] for _ in range(6)]
    start, errors = threading.Barrier(2), []

    def loop() -> None:
        start.wait()
        try:
            _pass(w)
        except Exception as exc:  # (reported below: a failing loop must fail the test)
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert {r: _refund(w, r)["status"] for r in refunds} == dict.fromkeys(refunds, "succeeded")
    assert sorted((p["refund_id"], p["submissions"]) for p in provider.ledger()) == [(r, 1) for r in sorted(refunds)]
    assert all(_refund_events(w, r) == ["succeeded"] for r in refunds)
