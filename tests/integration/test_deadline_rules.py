"""Every timer of docs/rules.md's table that the engine enforces, checked just short of its deadline
(nothing happens) and just past it (the system acts, once, as actor `system`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import DeadlinePassed
from aftersales.services import disputes
from aftersales.services.reminders import REMINDED  # reminders are system events too, not firings
from aftersales.store import tables as t
from builders import BUYER, World


def _pending_refund_only(w):
    return "after_sale", w.case(type_="refund_only").id


def _pending_return(w):
    return "after_sale", w.case().id


def _awaiting_return(w):
    return "after_sale", w.walk(w.case(), "approve").id


def _return_shipped(w, method="online"):
    return "after_sale", w.walk(w.case(method=method), "approve", "ship_return").id


def _awaiting_voucher(w):
    return "after_sale", w.walk(w.case(method="cod"), "approve", "ship_return", "confirm_receipt").id


def _rejected(w):
    return "after_sale", w.walk(w.case(), "reject").id


def _in_intervention(w):
    return "after_sale", w.walk(w.case(), "reject", "escalate").id


def _exchange_shipped(w):
    case = w.walk(w.case(type_="exchange"), "approve", "ship_return")
    return "after_sale", w.act(case.id, "confirm_receipt", {"carrier": "SF", "tracking_number": "SF9"}).id


def _awaiting_buyer(w):
    return "after_sale", w.walk(w.case(), "offer").id


def _offer_declined_after_10h(w):
    case = w.case()
    w.clock.advance(timedelta(hours=10))  # the merchant has 38 h left when it offers
    w.walk(case, "offer")
    w.clock.advance(timedelta(hours=5))  # the buyer's 5 h do not count against the merchant
    return "after_sale", w.act(case.id, "decline_offer").id


def _extended(w):
    return "after_sale", w.walk(w.case(), "extend").id  # by 24 h


def _unpaid_order(w):
    return "order", w.order("online", upto="awaiting_payment").id


def _delivered_order(w):
    return "order", w.order("online", upto="delivered").id


H, D = 3600, 86400
# (rule, arrange, seconds to the deadline, status before, status after, system action)
RULES = [
    (
        "unpaid online order is cancelled after 24h",
        _unpaid_order,
        24 * H,
        "awaiting_payment",
        "cancelled",
        "auto_cancel",
    ),
    ("delivered order completes after 7 days", _delivered_order, 7 * D, "delivered", "completed", "auto_complete"),
    (
        "unanswered refund-only request is refunded after 48h",
        _pending_refund_only,
        48 * H,
        "pending_merchant",
        "refunded",
        "auto_approve",
    ),
    (
        "unanswered return request is approved after 48h",
        _pending_return,
        48 * H,
        "pending_merchant",
        "awaiting_return",
        "auto_approve",
    ),
    (
        "unanswered offer lapses back to the merchant after 48h",
        _awaiting_buyer,
        48 * H,
        "awaiting_buyer",
        "pending_merchant",
        "offer_lapsed",
    ),
    (
        "a declined offer resumes the merchant's deadline with the 38h it had left",
        _offer_declined_after_10h,
        38 * H,
        "pending_merchant",
        "awaiting_return",
        "auto_approve",
    ),
    (
        "a request extended by 24h is approved after 72h",
        _extended,
        72 * H,
        "pending_merchant",
        "awaiting_return",
        "auto_approve",
    ),
    ("return not shipped within 7 days closes", _awaiting_return, 7 * D, "awaiting_return", "closed", "auto_close"),
    (
        "receipt not confirmed within 7 days is confirmed",
        _return_shipped,
        7 * D,
        "return_shipped",
        "refunded",
        "auto_confirm_receipt",
    ),
    (
        "missing COD voucher after 48h makes the platform pay first",
        _awaiting_voucher,
        48 * H,
        "awaiting_refund_voucher",
        "refunded",
        "advance_compensation",
    ),
    ("refusal not escalated within 48h closes", _rejected, 48 * H, "rejected", "closed", "auto_close"),
    (
        "platform ruling SLA of 72h lapses into a recorded breach",
        _in_intervention,
        72 * H,
        "in_intervention",
        "in_intervention",
        "ruling_overdue",
    ),
    (
        "replacement not confirmed within 7 days completes",
        _exchange_shipped,
        7 * D,
        "exchange_shipped",
        "completed",
        "auto_complete",
    ),
]


def _status(w, kind, subject_id):
    return (w.get_order(subject_id) if kind == "order" else w.get_case(subject_id)).status


@pytest.mark.parametrize("rule,arrange,seconds,before,after,action", RULES, ids=[r[0] for r in RULES])
def test_nothing_fires_one_second_before_the_deadline(runtime, clock, rule, arrange, seconds, before, after, action):
    w = World(runtime, clock)
    kind, subject_id = arrange(w)
    fired = w.advance(seconds=seconds - 1)
    assert fired == 0
    assert _status(w, kind, subject_id) == before
    assert [e.action for e in w.events(subject_id) if e.actor_role == "system" and e.action != REMINDED] == []


@pytest.mark.parametrize("rule,arrange,seconds,before,after,action", RULES, ids=[r[0] for r in RULES])
def test_the_system_acts_once_at_the_deadline(runtime, clock, rule, arrange, seconds, before, after, action):
    w = World(runtime, clock)
    kind, subject_id = arrange(w)
    assert w.advance(seconds=seconds) >= 1
    assert _status(w, kind, subject_id) == after
    fired = [e for e in w.events(subject_id) if e.actor_role == "system" and e.action != REMINDED]
    assert [e.action for e in fired] == [action]
    assert fired[0].deadline_id is not None
    # Firing again, later, changes nothing: the step's deadline was consumed.
    w.advance(seconds=1)
    assert [e.action for e in w.events(subject_id) if e.actor_role == "system" and e.action != REMINDED] == [action]


def test_advance_compensation_refunds_from_the_platform_and_penalises_the_merchant(runtime, clock):
    w = World(runtime, clock)
    _, case_id = _awaiting_voucher(w)
    w.advance(hours=48)
    refunds = w.refunds(after_sale_id=case_id)
    assert [(r.method, r.payer, r.amount) for r in refunds] == [("advance_compensation", "platform", 19800)]
    violations = w.violations(after_sale_id=case_id)
    assert [(v.kind, v.points, v.amount) for v in violations] == [("advance_compensation", 2, 19800)]


def test_ruling_sla_breach_flags_the_dispute_and_notifies(runtime, clock):
    w = World(runtime, clock)
    _, case_id = _in_intervention(w)
    dispute_id = w.get_case(case_id).dispute_id
    w.advance(hours=72)
    with runtime.uow() as uow:
        assert disputes.repo(uow).get(dispute_id).sla_breached is True
    topics = [r.topic for r in w._rows(t.outbox, {})]
    assert "dispute.sla_breached" in topics


def test_a_party_acting_after_its_deadline_lapsed_is_refused_before_any_worker_fires(runtime, clock):
    w = World(runtime, clock)
    _, case_id = _awaiting_return(w)
    clock.advance(timedelta(days=7))  # due, not yet fired
    with pytest.raises(DeadlinePassed):
        w.act(case_id, "ship_return", {"carrier": "ZTO", "tracking_number": "ZT1"})
    assert w.get_case(case_id).status == "awaiting_return"


def test_escalation_just_inside_the_window_opens_a_dispute_with_a_72h_ruling_deadline(runtime, clock):
    w = World(runtime, clock)
    _, case_id = _rejected(w)
    clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    case = w.act(case_id, "escalate", {"statement": "请平台介入"}, actor=BUYER)
    assert case.status == "in_intervention"
    with runtime.uow() as uow:
        dispute = disputes.repo(uow).get(case.dispute_id)
    assert dispute.ruling_due_at == clock.now() + timedelta(hours=72)


def test_escalation_after_the_window_is_deadline_passed(runtime, clock):
    w = World(runtime, clock)
    _, case_id = _rejected(w)
    clock.advance(timedelta(hours=48))
    with pytest.raises(DeadlinePassed):
        w.act(case_id, "escalate", {"statement": "太晚了"}, actor=BUYER)


def test_a_late_worker_fires_everything_overdue_oldest_first(runtime, clock):
    w = World(runtime, clock)
    first = w.case().id  # due at +48h
    clock.advance(timedelta(hours=1))
    second = w.case().id  # due at +49h
    clock.advance(timedelta(days=30))  # the worker was down
    # The two approvals; the two orders' auto-complete waits while their requests are open.
    assert w.engine().run_until_idle(max_wait=0) == 2
    approvals = [e for e in w._rows(t.events, {}) if e.action == "auto_approve"]
    assert [e.subject_id for e in approvals] == [first, second]
