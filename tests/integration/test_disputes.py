"""The platform's half on both databases: windows, the queue, every ruling outcome with its
money and sanctions, appeals that reconcile to the cent, arbitration and standing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import Conflict, DeadlinePassed, Forbidden, IllegalTransition, ValidationFailed
from aftersales.services import disputes, rulings, sanctions
from aftersales.services.context import Actor
from aftersales.store import tables as t
from builders import AGENT, BUYER, MERCHANT, World

AGENT_2 = Actor("agent", "agent-2")
ADMIN = Actor("admin", "admin-1")


def _do(w, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def _escalated(w, method="online", type_="refund_only"):
    case = w.walk(w.case(type_=type_, method=method), "reject", "escalate")
    return case, case.dispute_id


def _dispute(w, dispute_id):
    with w.runtime.uow() as uow:
        return disputes.repo(uow).get(dispute_id)


def _ledger(w, order_id):
    """(buyer received, merchant bore, platform bore) for an order, from the ledgers alone."""
    refunds = w.refunds(order_id=order_id)
    settlements = w._rows(t.settlements, {"order_id": order_id})
    received = sum(r.amount for r in refunds)
    # Online refunds leave the merchant's order funds; COD advance payments leave the platform's.
    merchant = sum(r.amount for r in refunds if r.method in ("original_payment", "merchant_cod"))
    merchant += sum(s.amount for s in settlements if s.direction == "merchant_to_platform")
    merchant -= sum(s.amount for s in settlements if s.direction == "platform_to_merchant")
    return received, merchant, received - merchant


def test_the_dispute_opens_with_the_negotiation_evidence_periods_and_sla(runtime, clock):
    w = World(runtime, clock)
    _case, dispute_id = _escalated(w)
    d = _dispute(w, dispute_id)
    assert [n["action"] for n in d.extra["negotiation"]] == ["file", "reject"]
    assert d.ruling_due_at == clock.now() + timedelta(hours=72)
    assert set(d.evidence_due) == {"buyer", "merchant"}


def test_evidence_is_taken_until_the_period_ends_and_an_agent_can_reopen_it(runtime, clock):
    w = World(runtime, clock)
    _, dispute_id = _escalated(w)
    clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    _do(w, disputes.submit_evidence, MERCHANT, dispute_id, {"statement": "已检测合格", "evidence": []})
    clock.advance(timedelta(seconds=1))
    with pytest.raises(DeadlinePassed):
        _do(w, disputes.submit_evidence, BUYER, dispute_id, {"statement": "补充照片", "evidence": []})
    _do(w, disputes.request_evidence, AGENT, dispute_id, {"party": "buyer", "note": "请补充开箱视频"})
    d = _do(w, disputes.submit_evidence, BUYER, dispute_id, {"statement": "开箱视频", "evidence": []})
    assert [s["party"] for s in d.statements] == ["buyer", "merchant", "buyer"]
    with pytest.raises(DeadlinePassed):  # re-opening one party's period does not re-open the other's
        _do(w, disputes.submit_evidence, MERCHANT, dispute_id, {"statement": "再补充", "evidence": []})


def test_the_queue_filters_by_sla_merchant_reason_and_assignee(runtime, clock):
    w = World(runtime, clock)
    _, late = _escalated(w)
    clock.advance(timedelta(hours=60))
    _, fresh = _escalated(w)
    now = clock.now()

    def ids(**filters):
        with runtime.uow() as uow:
            where = disputes.queue_filters(AGENT, now, **filters)
            return {r.id for r in uow.execute(t.disputes.select().where(*where))}

    assert ids(sla="due_24h") == {late}
    clock.advance(timedelta(hours=12))
    now = clock.now()
    assert ids(sla="breached") == {late}
    assert ids(merchant_id="m-1", reason="quality_problem") == {late, fresh}
    with pytest.raises(ValidationFailed):
        ids(sla="soon")
    with pytest.raises(Forbidden):
        disputes.queue_filters(BUYER, now)


def test_automatic_assignment_takes_the_least_loaded_agent_with_capacity(runtime, clock):
    w = World(runtime, clock)
    for agent_id, capacity in [("agent-1", 1), ("agent-2", 2)]:
        _do(w, disputes.upsert_agent, ADMIN, agent_id, {"name": agent_id, "capacity": capacity, "active": True})
    got = [_do(w, disputes.assign, AGENT, _escalated(w)[1], {}).assignee for _ in range(3)]
    assert sorted(got) == ["agent-1", "agent-2", "agent-2"] and got[0] == "agent-1"
    with pytest.raises(Conflict) as err:
        _do(w, disputes.assign, AGENT, _escalated(w)[1], {})
    assert err.value.code == "no_agent_available"
    with pytest.raises(Forbidden):
        _do(w, disputes.upsert_agent, AGENT, "agent-3", {"name": "x", "capacity": 1, "active": True})


def test_notes_are_for_agents_only(runtime, clock):
    w = World(runtime, clock)
    _, dispute_id = _escalated(w)
    _do(w, disputes.add_note, AGENT, dispute_id, "买家历史退款率高")
    with runtime.uow() as uow:
        assert [n["body"] for n in disputes.notes(uow, AGENT_2, dispute_id)] == ["买家历史退款率高"]
        with pytest.raises(Forbidden):
            disputes.notes(uow, BUYER, dispute_id)


RULINGS = [
    # (payment, outcome, amount, liable, case status, received, merchant bore, violations)
    ("online", "refund", None, "merchant", "refunded", 19800, 19800, 1),
    ("online", "partial_refund", 8000, "merchant", "refunded", 8000, 8000, 1),
    ("online", "refund", None, "logistics", "refunded", 19800, 0, 0),
    ("online", "deny", None, "buyer", "closed", 0, 0, 0),
    ("cod", "refund", None, "merchant", "refunded", 19800, 19800, 1),
    ("cod", "refund", None, "none", "refunded", 19800, 0, 0),
]


@pytest.mark.parametrize("payment,outcome,amount,liable,status,received,merchant_bore,violations", RULINGS)
def test_every_ruling_executes_itself_with_its_money_and_sanctions(
    runtime, clock, payment, outcome, amount, liable, status, received, merchant_bore, violations
):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method=payment)
    d = _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": outcome, "amount": amount, "liable_party": liable, "rationale": "依据双方证据"},
    )
    assert d.status == "ruled" and w.get_case(case.id).status == status
    assert _ledger(w, case.order_id)[:2] == (received, merchant_bore)
    assert len(w.violations(dispute_id=dispute_id)) == violations
    expected_method = {"online": "original_payment", "cod": "advance_compensation"}[payment]
    assert {r.method for r in w.refunds(order_id=case.order_id)} <= {expected_method}


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "deny", "amount": None, "liable_party": "merchant", "rationale": "x"},
        {"outcome": "deny", "amount": 100, "liable_party": "buyer", "rationale": "x"},
        {"outcome": "partial_refund", "amount": None, "liable_party": "merchant", "rationale": "x"},
        {"outcome": "partial_refund", "amount": 19800, "liable_party": "merchant", "rationale": "x"},
        {"outcome": "refund", "amount": 100, "liable_party": "merchant", "rationale": "x"},
    ],
)
def test_inconsistent_rulings_are_refused_and_change_nothing(runtime, clock, body):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    with pytest.raises(ValidationFailed):
        _do(w, rulings.rule, AGENT, dispute_id, body)
    assert _dispute(w, dispute_id).status == "open" and w.refunds(order_id=case.order_id) == []


@pytest.mark.parametrize("payment", ["online", "cod"])
def test_a_merchant_winning_its_appeal_is_made_whole_by_the_platform_to_the_cent(runtime, clock, payment):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method=payment)
    _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": "partial_refund", "amount": 12345, "liable_party": "merchant", "rationale": "部分责任"},
    )
    with runtime.uow() as uow:
        assert sanctions.standing(uow, runtime.env, "m-1")["active_points"] == 4
    appeal = _do(w, rulings.appeal, MERCHANT, dispute_id, {"grounds": "买家已使用商品", "evidence": []})
    with pytest.raises(Forbidden) as err:
        _do(w, rulings.decide, AGENT, appeal["id"], {"decision": "overturn", "rationale": "x"})
    assert err.value.code == "same_agent"
    _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "使用痕迹明显"})
    assert _ledger(w, case.order_id) == (12345, 0, 12345)  # buyer keeps it, merchant whole, platform bears
    assert [v.status for v in w.violations(dispute_id=dispute_id)] == ["revoked"]
    with runtime.uow() as uow:
        assert sanctions.standing(uow, runtime.env, "m-1")["active_points"] == 0
    assert _dispute(w, dispute_id).status == "final"


def test_a_buyer_winning_its_appeal_gets_the_rest_and_the_merchant_the_violation(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": "partial_refund", "amount": 5000, "liable_party": "merchant", "rationale": "部分"},
    )
    appeal = _do(w, rulings.appeal, BUYER, dispute_id, {"grounds": "商品完全不能用", "evidence": []})
    _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "全额"})
    assert _ledger(w, case.order_id) == (19800, 19800, 0)
    assert w.get_order(case.order_id).refunded_amount == 19800


def test_only_the_losing_party_may_appeal(runtime, clock):
    w = World(runtime, clock)
    _, dispute_id = _escalated(w)
    _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": "refund", "amount": None, "liable_party": "merchant", "rationale": "支持买家"},
    )
    with pytest.raises(Forbidden) as err:
        _do(w, rulings.appeal, BUYER, dispute_id, {"grounds": "我赢了也想申诉", "evidence": []})
    assert err.value.code == "not_appellant"


def test_an_upheld_appeal_changes_no_money(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": "deny", "amount": None, "liable_party": "buyer", "rationale": "无证据"},
    )
    appeal = _do(w, rulings.appeal, BUYER, dispute_id, {"grounds": "请复核", "evidence": []})
    decided = _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "uphold", "rationale": "维持"})
    assert decided["status"] == "upheld" and _ledger(w, case.order_id) == (0, 0, 0)


def test_the_appeal_window_closes_after_seven_days(runtime, clock):
    w = World(runtime, clock)
    _, dispute_id = _escalated(w)
    _do(
        w,
        rulings.rule,
        AGENT,
        dispute_id,
        {"outcome": "deny", "amount": None, "liable_party": "none", "rationale": "-"},
    )
    assert w.advance(days=7, seconds=-1) == 0
    _do(w, rulings.appeal, BUYER, dispute_id, {"grounds": "最后一秒", "evidence": []})
    _, other = _escalated(w)
    _do(w, rulings.rule, AGENT, other, {"outcome": "deny", "amount": None, "liable_party": "none", "rationale": "-"})
    assert w.advance(days=7) >= 1
    assert _dispute(w, other).status == "final"
    with pytest.raises((DeadlinePassed, IllegalTransition)):
        _do(w, rulings.appeal, BUYER, other, {"grounds": "太晚", "evidence": []})


def test_arbitration_is_accepted_or_declined_then_ruled_once_and_for_all(runtime, clock):
    w = World(runtime, clock)
    closed = w.walk(w.case(type_="refund_only"), "reject")
    w.advance(hours=48)  # not escalated: auto-closed
    assert w.get_case(closed.id).status == "closed"
    d = _do(w, rulings.apply_for_arbitration, BUYER, {"after_sale_id": closed.id, "statement": "申请仲裁"})
    assert (d.kind, d.status) == ("arbitration", "applied")
    with pytest.raises(ValidationFailed):
        _do(w, rulings.apply_for_arbitration, BUYER, {"after_sale_id": closed.id, "statement": "再来"})
    d = _do(w, disputes.review_application, AGENT, d.id, "accept")
    d = _do(
        w,
        rulings.rule,
        AGENT,
        d.id,
        {"outcome": "refund", "amount": None, "liable_party": "merchant", "rationale": "仲裁支持买家"},
    )
    assert d.status == "final" and w.get_case(closed.id).status == "refunded"
    with pytest.raises(Forbidden):
        _do(w, rulings.appeal, MERCHANT, d.id, {"grounds": "x", "evidence": []})
