"""A first pass over the platform's half: escalate, assign, rule, appeal, overturn."""

from builders import AGENT, MERCHANT, World

from aftersales.services import disputes, rulings
from aftersales.services.context import Actor

AGENT_2 = Actor("agent", "agent-2")


def _escalated(w):
    case = w.case(type_="refund_only")
    case = w.walk(case, "reject", "escalate")
    assert case.status == "in_intervention" and case.dispute_id
    return case


def _do(w, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def test_ruling_against_merchant_refunds_and_records_a_violation_then_overturn_is_borne_by_platform(runtime, clock):
    w = World(runtime, clock)
    case = _escalated(w)
    ruled = _do(w, rulings.rule, AGENT, case.dispute_id, {
        "outcome": "refund", "amount": None, "liable_party": "merchant", "rationale": "商品与描述不符"})
    assert ruled.status == "ruled" and ruled.deadline_action == "finalize"
    assert w.get_case(case.id).status == "refunded"
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [19800]
    assert [v.status for v in w.violations(dispute_id=case.dispute_id)] == ["active"]
    appeal = _do(w, rulings.appeal, MERCHANT, case.dispute_id, {"grounds": "买家已使用", "evidence": []})
    decided = _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "证据显示已使用"})
    assert decided["status"] == "overturned"
    assert [v.status for v in w.violations(dispute_id=case.dispute_id)] == ["revoked"]
    # The buyer keeps the refund; the platform pays the merchant back: nobody loses a cent.
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [19800]
    from aftersales.store import tables as t
    settled = w._rows(t.settlements, {"dispute_id": case.dispute_id})
    assert [(s.direction, s.amount) for s in settled] == [("platform_to_merchant", 19800)]


def test_denied_buyer_wins_appeal_and_is_refunded(runtime, clock):
    w = World(runtime, clock)
    case = _escalated(w)
    _do(w, rulings.rule, AGENT, case.dispute_id, {"outcome": "deny", "amount": None, "liable_party": "buyer",
                                                  "rationale": "无证据"})
    assert w.get_case(case.id).status == "closed"
    from builders import BUYER
    appeal = _do(w, rulings.appeal, BUYER, case.dispute_id, {"grounds": "补充了照片", "evidence": []})
    _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "照片显示破损"})
    assert w.get_case(case.id).status == "refunded"
    assert sum(r.amount for r in w.refunds(after_sale_id=case.id)) == 19800
    assert w.get_order(case.order_id).refunded_amount == 19800


def test_appeal_window_lapse_makes_the_ruling_final(runtime, clock):
    w = World(runtime, clock)
    case = _escalated(w)
    _do(w, rulings.rule, AGENT, case.dispute_id, {"outcome": "deny", "amount": None, "liable_party": "none",
                                                  "rationale": "-"})
    assert w.advance(days=7) == 1
    with runtime.uow() as uow:
        assert disputes.repo(uow).get(case.dispute_id).status == "final"
