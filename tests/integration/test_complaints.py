"""Complaints 投诉: the buyer's flow with its deadlines, the merchant's complaint to the platform,
and the review SLA in working days across the October golden week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.domain.clock import ManualClock
from aftersales.domain.errors import DeadlinePassed, Forbidden, NotFound, ValidationFailed
from aftersales.runtime import Runtime
from aftersales.services import complaints
from aftersales.services.context import Actor
from builders import AGENT, BUYER, MERCHANT, World


def _file(w, actor=BUYER, **data):
    data = {"category": "induced_review", "description": "商家诱导好评返现", "merchant_id": "m-1", **data}
    with w.runtime.uow() as uow:
        c = complaints.file(uow, w.runtime.env, actor, data)
        uow.commit()
    return c


def _act(w, c, action, params=None, actor=MERCHANT):
    with w.runtime.uow() as uow:
        out = complaints.act(uow, w.runtime.env, actor, c.id, action, params or {})
        uow.commit()
    return out


def _get(w, c):
    with w.runtime.uow() as uow:
        return complaints.repo(uow).get(c.id)


def test_the_whole_flow_from_complaint_to_the_buyer_confirming_the_solution(runtime, clock):
    w = World(runtime, clock)
    c = _file(w)
    assert (c.status, c.deadline_action) == ("awaiting_reply", "auto_escalate")
    c = _act(w, c, "reply", {"reply": "非常抱歉"})
    c = _act(w, c, "propose_solution", {"solution": "补偿 10 元无门槛券"})
    assert c.status == "under_review" and c.deadline_action == "review_overdue"
    c = _act(w, c, "approve_solution", actor=AGENT)
    c = _act(w, c, "confirm", actor=BUYER)
    assert (c.status, c.deadline_action) == ("resolved", None)
    assert [e.action for e in w.events(c.id)] == ["file", "reply", "propose_solution", "approve_solution", "confirm"]


def test_a_rejected_solution_goes_to_an_agent_who_may_penalise_the_merchant(runtime, clock):
    w = World(runtime, clock)
    c = _file(w)
    for action, params, actor in [
        ("reply", {"reply": "收到"}, MERCHANT),
        ("propose_solution", {"solution": "道歉"}, MERCHANT),
        ("approve_solution", {}, AGENT),
        ("reject", {}, BUYER),
    ]:
        c = _act(w, c, action, params, actor)
    assert c.status == "escalated"
    c = _act(w, c, "decide", {"decision": "upheld", "rationale": "诱导评价属实", "penalty_points": 3}, AGENT)
    assert (c.status, c.decision) == ("decided", "upheld")
    assert [(v.kind, v.points) for v in w.violations(merchant_id="m-1")] == [("points", 3)]


@pytest.mark.parametrize("step,hours", [("awaiting_reply", 48), ("awaiting_solution", 72)])
def test_a_merchant_who_lets_its_step_lapse_is_escalated_and_gets_points(runtime, clock, step, hours):
    w = World(runtime, clock)
    c = _file(w)
    if step == "awaiting_solution":
        c = _act(w, c, "reply", {"reply": "收到"})
    assert w.advance(hours=hours, seconds=-1) == 0 and _get(w, c).status == step
    assert w.advance(seconds=1) == 1
    assert _get(w, c).status == "escalated"
    assert [(v.kind, v.points) for v in w.violations(merchant_id="m-1")] == [("points", 2)]


def test_the_buyer_who_does_not_answer_is_taken_to_confirm(runtime, clock):
    w = World(runtime, clock)
    c = _file(w)
    for action, params, actor in [
        ("reply", {"reply": "收到"}, MERCHANT),
        ("propose_solution", {"solution": "补发"}, MERCHANT),
        ("approve_solution", {}, AGENT),
    ]:
        c = _act(w, c, action, params, actor)
    assert w.advance(hours=72, seconds=-1) == 0
    assert w.advance(seconds=1) == 1 and _get(w, c).status == "resolved"


def test_the_review_sla_counts_working_days_across_the_golden_week(settings, engine):
    # Filed Wednesday 2026-09-30 10:00 Beijing; seven working days skip 10/1-10/7 and count the
    # make-up Saturday 10/10: due Thursday 2026-10-15 10:00 Beijing.
    clock = ManualClock(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))
    w = World(Runtime.build(settings, clock=clock, engine=engine), clock)
    c = _file(
        w, actor=MERCHANT, category="buyer_abuse", description="买家恶意差评勒索", buyer_id="b-9", merchant_id=None
    )
    assert c.status == "under_review"
    assert c.deadline_due_at == datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    assert w.advance(days=15, seconds=-1) == 0
    assert w.advance(seconds=1) == 1
    breached = _get(w, c)
    assert breached.review_breached and breached.status == "under_review"
    assert [e.action for e in w.events(c.id)][-1] == "review_overdue"
    decided = _act(w, c, "decide", {"decision": "dismissed", "rationale": "证据不足"}, AGENT)
    assert decided.status == "decided"


def test_who_sees_and_who_may_act(runtime, clock):
    w = World(runtime, clock)
    c = _file(w)
    with pytest.raises(NotFound):
        _act(w, c, "reply", {"reply": "x"}, Actor("merchant", "m-2-staff", merchant_id="m-2"))
    with pytest.raises(NotFound):
        _act(w, c, "withdraw", {}, Actor("buyer", "b-2"))
    with pytest.raises(Forbidden):
        _act(w, c, "approve_solution", {}, MERCHANT)
    with pytest.raises(Forbidden):
        _act(w, c, "reply", {"reply": "x"}, BUYER)
    merchant_complaint = _file(
        w, actor=MERCHANT, category="buyer_abuse", description="恶意", buyer_id="b-1", merchant_id=None
    )
    with pytest.raises(NotFound):  # a buyer never sees complaints about them
        _act(w, merchant_complaint, "withdraw", {}, BUYER)


def test_bad_input_is_refused_and_a_late_merchant_is_too_late(runtime, clock):
    w = World(runtime, clock)
    with pytest.raises(ValidationFailed):
        _file(w, category="buyer_abuse")  # a merchant's category from a buyer
    with pytest.raises(ValidationFailed):
        _file(w, merchant_id=None)
    c = _file(w)
    with pytest.raises(ValidationFailed):
        _act(w, c, "reply", {})
    clock.advance(timedelta(hours=48))
    with pytest.raises(DeadlinePassed):
        _act(w, c, "reply", {"reply": "晚了"})
