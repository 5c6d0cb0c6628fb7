"""The reads behind the agents' desk: the dispute queue by ruling deadline with keyset paging and
the unassigned filter, the appeals queue, a merchant's history, and the policy's timer table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import Forbidden, NotFound
from aftersales.domain.policy import TIMERS, WorkingDays
from aftersales.policies import presets
from aftersales.services import disputes, policy_table, reads, rulings
from aftersales.services.context import Actor
from builders import AGENT, BUYER, MERCHANT, World

ADMIN = Actor("admin", "admin-1")
REFUND = {"outcome": "refund", "amount": None, "liable_party": "merchant", "rationale": "质量问题属实"}


def _do(w, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def _read(w, fn, *args, **kw):
    with w.runtime.uow(read_only=True) as uow:
        return fn(uow, *args, **kw)


def _escalated(w):
    return w.walk(w.case(type_="refund_only"), "reject", "escalate").dispute_id


def test_the_desk_queue_runs_by_ruling_deadline_not_by_age_and_pages_by_it(runtime, clock):
    w = World(runtime, clock)
    closed = w.walk(w.case(type_="refund_only"), "reject")
    w.advance(hours=48, seconds=1)  # not escalated: closed, so it may go to arbitration
    arbitration = _do(w, rulings.apply_for_arbitration, BUYER, {"after_sale_id": closed.id, "statement": "申请仲裁"})
    w.advance(hours=1)
    intervention = _escalated(w)
    w.advance(hours=1)
    _do(w, disputes.review_application, AGENT, arbitration.id, "accept")  # its SLA runs from now
    later = _escalated(w)

    oldest_first = _read(w, reads.dispute_queue, AGENT, clock.now()).items
    assert [d.id for d in oldest_first] == [arbitration.id, intervention, later]
    by_sla = _read(w, reads.dispute_queue, AGENT, clock.now(), by_sla=True).items
    assert [d.id for d in by_sla] == [intervention, arbitration.id, later]
    assert [d.ruling_due_at for d in by_sla] == sorted(d.ruling_due_at for d in by_sla)

    seen, cursor = [], None
    while True:
        page = _read(w, reads.dispute_queue, AGENT, clock.now(), by_sla=True, cursor=cursor, limit=1)
        seen += [d.id for d in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == [d.id for d in by_sla]


def test_the_queue_filters_unassigned_and_by_several_statuses(runtime, clock):
    w = World(runtime, clock)
    _do(w, disputes.upsert_agent, ADMIN, "agent-1", {"name": "小周", "capacity": 5, "active": True})
    taken, free = _escalated(w), _escalated(w)
    _do(w, disputes.assign, AGENT, taken, {"agent_id": "agent-1"})
    unassigned = _read(w, reads.dispute_queue, AGENT, clock.now(), unassigned=True).items
    assert [d.id for d in unassigned] == [free]
    mine = _read(w, reads.dispute_queue, AGENT, clock.now(), assignee="agent-1").items
    assert [d.id for d in mine] == [taken]
    both = _read(w, reads.dispute_queue, AGENT, clock.now(), status=("open", "under_review")).items
    assert {d.id for d in both} == {taken, free}
    with pytest.raises(Forbidden):
        _read(w, reads.dispute_queue, MERCHANT, clock.now(), unassigned=True)


def test_the_appeals_queue_holds_pending_appeals_with_their_dispute(runtime, clock):
    w = World(runtime, clock)
    dispute_id = _escalated(w)
    _do(w, rulings.rule, AGENT, dispute_id, REFUND)
    appeal = _do(w, rulings.appeal, MERCHANT, dispute_id, {"grounds": "买家使用不当", "evidence": []})
    rows = _read(w, reads.appeal_queue, AGENT).items
    assert [(a["id"], d.id, d.ruled_by) for a, d in rows] == [(appeal["id"], dispute_id, AGENT.id)]
    _do(w, rulings.decide, Actor("agent", "agent-2"), appeal["id"], {"decision": "uphold", "rationale": "维持"})
    assert _read(w, reads.appeal_queue, AGENT).items == []
    assert [a["id"] for a, _ in _read(w, reads.appeal_queue, AGENT, status="upheld").items] == [appeal["id"]]
    with pytest.raises(Forbidden):
        _read(w, reads.appeal_queue, BUYER)


def test_a_merchant_s_history_counts_its_cases_disputes_and_rulings_lost(runtime, clock):
    w = World(runtime, clock)
    dispute_id = _escalated(w)
    _do(w, rulings.rule, AGENT, dispute_id, REFUND)
    w.case(type_="refund_only")
    history = _read(w, reads.merchant_history, AGENT, "m-1")
    assert history.cases_by_status == {"refunded": 1, "pending_merchant": 1}
    assert history.disputes_by_status == {"ruled": 1} and history.disputes_lost == 1
    assert [d.id for d in history.recent_disputes] == [dispute_id] and len(history.recent_cases) == 2
    with pytest.raises(NotFound):
        _read(w, reads.merchant_history, Actor("merchant", "m-2-staff", "m-2"), "m-1")


@pytest.mark.parametrize("key", sorted(presets()))
def test_the_policy_table_is_every_timer_of_the_policy_with_its_lapse(key):
    policy = presets()[key]
    rows = {r.name: r for r in policy_table.timers(policy)}
    assert list(rows) == list(TIMERS)
    assert all(rows[name].value == policy.timers[name] for name in TIMERS)
    assert [(lapse.status, lapse.action) for lapse in rows["merchant_response"].lapses] == [
        ("pending_merchant", "auto_approve")
    ]
    assert rows["merchant_response"].against == ("merchant",)
    assert rows["platform_ruling_sla"].against == ("platform",)  # its lapse only records a breach
    assert rows["platform_ruling_sla"].lapses[0].label is None
    assert rows["after_sales_window"].lapses == ()  # a window: nothing fires
    assert isinstance(rows["complaint_review"].value, WorkingDays | timedelta)
