"""The second wave's rulings on both databases: return_refund (the goods come back, then the ruled
amount is refunded, whatever the request's type), a shared fault 双方责任 and the creator's 达人
liability; who finally bears each fen, their appeals, and the audit replaying all of it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import Forbidden, ValidationFailed
from aftersales.services import audit, refunds, rulings, sanctions
from aftersales.services.context import Actor
from aftersales.store import tables as t
from builders import AGENT, BUYER, MERCHANT, World

AGENT_2 = Actor("agent", "agent-2")
ASKED = 19800  # two items at 9900; douyin refunds no shipping
ADDRESS = "杭州市西湖区文三路 1 号 退货组"


def _do(w, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def _escalated(w, method="online", type_="refund_only", creator=None):
    case = w.case(w.order(method, creator=creator), type_=type_)
    case = w.walk(case, "reject", "escalate")
    return case, case.dispute_id


def _rule(w, dispute_id, outcome, liable, amount=None, **more):
    body = {"outcome": outcome, "liable_party": liable, "amount": amount, "rationale": "依据双方证据", **more}
    return _do(w, rulings.rule, AGENT, dispute_id, body)


def _overturn(w, dispute_id, appellant):
    appeal = _do(w, rulings.appeal, appellant, dispute_id, {"grounds": "请复核", "evidence": []})
    return _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "改判"})


def _borne(w, case_id):
    """Who finally bears what the buyer was refunded on the case, from the two ledgers alone; the
    shares always add up to the refunds."""
    paid = [dict(r._mapping) for r in w.refunds(after_sale_id=case_id)]
    settled = [dict(s._mapping) for s in w._rows(t.settlements, {"after_sale_id": case_id})]
    shares = refunds.borne(paid, settled)
    assert sum(shares.values()) == sum(r["amount"] for r in paid)
    assert all(v >= 0 for v in shares.values()), shares
    return {party: v for party, v in shares.items() if v}


def _points(w):
    with w.runtime.uow() as uow:
        return sanctions.standing(uow, w.runtime.env, "m-1")["active_points"]


def _replays(w):
    with w.runtime.uow() as uow:
        assert audit.verify_all(uow) == []


# --- return_refund ---------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["refund_only", "exchange", "return_refund"])
def test_a_return_refund_ruling_refunds_the_ruled_amount_once_the_goods_are_back(runtime, clock, type_):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, type_=type_)
    d = _rule(w, dispute_id, "return_refund", "merchant", 15000, return_address=ADDRESS)
    case = w.get_case(case.id)
    assert (d.status, d.amount, case.status, case.ruled_amount) == ("ruled", 15000, "awaiting_return", 15000)
    assert case.return_address == ADDRESS and w.refunds(after_sale_id=case.id) == []
    assert (case.deadline_action, case.deadline_due_at) == ("auto_close", clock.now() + timedelta(days=7))
    case = w.walk(case, "ship_return", "confirm_receipt")  # an exchange ships no replacement: it refunds
    assert case.status == "refunded" and case.exchange_tracking is None
    assert [(r.method, r.amount) for r in w.refunds(after_sale_id=case.id)] == [("original_payment", 15000)]
    assert _borne(w, case.id) == {"merchant": 15000} and _points(w) == 4
    _replays(w)


def test_a_cod_ruled_return_waits_for_the_voucher_then_the_platform_pays_first(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method="cod", type_="exchange")
    _rule(w, dispute_id, "return_refund", "platform", return_address=ADDRESS)
    case = w.walk(w.get_case(case.id), "ship_return", "confirm_receipt")
    assert case.status == "awaiting_refund_voucher"
    w.advance(hours=48)  # no voucher: 先行赔付 of the ruled amount, recovered from the merchant ...
    assert w.get_case(case.id).status == "refunded"
    assert [(r.method, r.amount) for r in w.refunds(after_sale_id=case.id)] == [("advance_compensation", ASKED)]
    # ... whom the ruling (platform liable) then makes whole: the platform bears it.
    assert _borne(w, case.id) == {"platform": ASKED}
    assert [v.kind for v in w.violations(after_sale_id=case.id)] == ["advance_compensation"]
    _replays(w)


def test_after_a_return_refund_ruling_the_buyers_ship_return_timer_runs_to_the_second(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "return_refund", "merchant", return_address=ADDRESS)
    assert w.advance(days=7, seconds=-1) == 0 and w.get_case(case.id).status == "awaiting_return"
    w.advance(seconds=1)
    case = w.get_case(case.id)
    assert case.status == "closed" and w.refunds(after_sale_id=case.id) == []  # never shipped: no money
    assert w.get_order(case.order_id).open_case_ids == []
    _replays(w)


def test_after_the_goods_ship_back_the_merchants_receipt_timer_refunds_to_the_second(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, type_="exchange")
    _rule(w, dispute_id, "return_refund", "logistics", 12000, return_address=ADDRESS)
    w.advance(days=6)
    w.walk(w.get_case(case.id), "ship_return")
    w.advance(days=7, seconds=-1)
    assert w.get_case(case.id).status == "return_shipped" and w.refunds(after_sale_id=case.id) == []
    w.advance(seconds=1)  # auto_confirm_receipt: the ruled amount, not a replacement
    assert w.get_case(case.id).status == "refunded"
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [12000]
    assert _borne(w, case.id) == {"platform": 12000} and _points(w) == 0
    rows = w._rows(t.settlements, {"after_sale_id": case.id})
    assert [(s.direction, s.bearer, s.amount) for s in rows] == [("platform_to_merchant", "platform", 12000)]
    _replays(w)


def test_a_return_refund_ruling_needs_an_address_and_an_open_intervention(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)  # refused at once: the case has no return address
    with pytest.raises(ValidationFailed) as err:
        _rule(w, dispute_id, "return_refund", "merchant")
    assert err.value.extra["fields"] == ["return_address"]
    for amount in (0, ASKED + 1):
        with pytest.raises(ValidationFailed):
            _rule(w, dispute_id, "return_refund", "merchant", amount, return_address=ADDRESS)
    assert w.get_case(case.id).status == "in_intervention" and w.get_case(case.id).ruled_amount is None
    # A request whose goods were already coming back keeps the address the merchant gave.
    # (over the speedy-refund limit, so nothing was paid as the goods shipped back)
    returned = w.walk(w.case(w.order(price=30000), type_="return_refund"), "approve", "ship_return", "dispute_return")
    _rule(w, returned.dispute_id, "return_refund", "buyer")
    assert w.get_case(returned.id).status == "awaiting_return"


def test_a_ruled_return_is_not_disputed_a_second_time(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "return_refund", "merchant", return_address=ADDRESS)
    w.walk(w.get_case(case.id), "ship_return")
    with pytest.raises(Forbidden):
        w.walk(w.get_case(case.id), "dispute_return")


# --- both, creator, platform -------------------------------------------------------------------


@pytest.mark.parametrize("payment", ["online", "cod"])
def test_a_shared_fault_refunds_a_part_the_merchant_bears_with_fewer_points(runtime, clock, payment):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method=payment)
    for full in ({"outcome": "refund"}, {"outcome": "partial_refund", "amount": ASKED}):
        with pytest.raises(ValidationFailed):
            _rule(w, dispute_id, liable="both", **{"amount": None, **full})
    with pytest.raises(ValidationFailed):
        _rule(w, dispute_id, "deny", "both")
    _rule(w, dispute_id, "partial_refund", "both", 9900)
    assert w.get_case(case.id).status == "refunded"
    assert _borne(w, case.id) == {"merchant": 9900} and _points(w) == 2  # douyin: ruling_shared_fault
    _replays(w)


@pytest.mark.parametrize("payment,direction", [("online", "platform_to_merchant"), ("cod", "creator_to_platform")])
def test_a_creator_held_liable_bears_the_refund_and_the_merchant_gets_no_points(runtime, clock, payment, direction):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method=payment, creator="creator-7")
    _rule(w, dispute_id, "refund", "creator")
    assert w.get_case(case.id).status == "refunded" and _points(w) == 0
    assert _borne(w, case.id) == {"creator": ASKED}
    rows = w._rows(t.settlements, {"after_sale_id": case.id})
    assert [(s.direction, s.bearer, s.creator_id) for s in rows] == [(direction, "creator", "creator-7")]
    _replays(w)


def test_no_creator_is_held_liable_on_an_order_that_names_none(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    with pytest.raises(ValidationFailed) as err:
        _rule(w, dispute_id, "refund", "creator")
    assert err.value.extra["fields"] == ["liable_party"]
    assert w.refunds(after_sale_id=case.id) == [] and w.get_case(case.id).status == "in_intervention"


LEDGERS = [
    # (payment, outcome, amount, liable, who bears what, the merchant's points)
    ("online", "refund", None, "merchant", {"merchant": ASKED}, 4),
    ("cod", "refund", None, "merchant", {"merchant": ASKED}, 4),
    ("online", "refund", None, "platform", {"platform": ASKED}, 0),
    ("cod", "partial_refund", 5000, "platform", {"platform": 5000}, 0),
    ("online", "partial_refund", 5000, "buyer", {"platform": 5000}, 0),
    ("online", "refund", None, "none", {"platform": ASKED}, 0),
    ("online", "deny", None, "buyer", {}, 0),
    ("cod", "partial_refund", 7000, "both", {"merchant": 7000}, 2),
    ("online", "partial_refund", 7000, "creator", {"creator": 7000}, 0),
]


@pytest.mark.parametrize("payment,outcome,amount,liable,shares,points", LEDGERS)
def test_the_ledger_says_who_finally_bears_every_fen_of_a_ruling(
    runtime, clock, payment, outcome, amount, liable, shares, points
):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method=payment, creator="creator-7")
    _rule(w, dispute_id, outcome, liable, amount)
    assert _borne(w, case.id) == shares and _points(w) == points


# --- appeals of the new outcomes -------------------------------------------------------------


def test_a_merchant_overturning_a_return_refund_before_the_goods_are_back_leaves_the_refund_to_the_platform(
    runtime, clock
):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "return_refund", "merchant", 15000, return_address=ADDRESS)
    _overturn(w, dispute_id, MERCHANT)
    assert _points(w) == 0 and w.get_case(case.id).status == "awaiting_return"  # the return goes on
    w.walk(w.get_case(case.id), "ship_return", "confirm_receipt")
    assert _borne(w, case.id) == {"platform": 15000}
    _replays(w)


def test_a_merchant_overturning_a_return_refund_already_paid_is_made_whole(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, method="cod")
    _rule(w, dispute_id, "return_refund", "merchant", return_address=ADDRESS)
    w.walk(w.get_case(case.id), "ship_return", "confirm_receipt")
    w.advance(hours=48)
    assert _borne(w, case.id) == {"merchant": ASKED}
    _overturn(w, dispute_id, MERCHANT)
    assert _borne(w, case.id) == {"platform": ASKED}
    assert [v.status for v in w.violations(dispute_id=dispute_id)] == ["revoked"]
    _replays(w)


def test_a_buyer_overturning_a_return_refund_is_refunded_in_full_at_once(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, type_="exchange")
    _rule(w, dispute_id, "return_refund", "both", 9000, return_address=ADDRESS)
    _overturn(w, dispute_id, BUYER)
    case = w.get_case(case.id)
    assert (case.status, case.deadline_action) == ("refunded", None)
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [ASKED]
    assert _borne(w, case.id) == {"merchant": ASKED}
    _replays(w)


def test_a_merchant_overturning_a_shared_fault_hands_its_share_to_the_platform(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "partial_refund", "both", 6000)
    _overturn(w, dispute_id, MERCHANT)
    assert _borne(w, case.id) == {"platform": 6000} and _points(w) == 0
    _replays(w)


def test_appeals_of_a_creators_liability_keep_the_creators_share(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w, creator="creator-7")
    _rule(w, dispute_id, "partial_refund", "creator", 5000)
    _overturn(w, dispute_id, BUYER)  # the rest is refunded, the merchant held liable for it
    assert _borne(w, case.id) == {"creator": 5000, "merchant": ASKED - 5000}
    other, other_dispute = _escalated(w, creator="creator-8")
    _rule(w, other_dispute, "refund", "creator")
    _overturn(w, other_dispute, MERCHANT)  # the merchant bore nothing: nothing moves
    assert _borne(w, other.id) == {"creator": ASKED}
    _replays(w)


def test_the_buyer_may_appeal_a_return_refund_as_the_merchant_may(runtime, clock):
    w = World(runtime, clock)
    _case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "return_refund", "merchant", return_address=ADDRESS)
    appeal = _do(w, rulings.appeal, BUYER, dispute_id, {"grounds": "不应退货", "evidence": []})
    assert appeal["status"] == "pending"


def test_a_ruled_amount_edited_behind_the_engines_back_is_reported(runtime, clock):
    w = World(runtime, clock)
    case, dispute_id = _escalated(w)
    _rule(w, dispute_id, "return_refund", "merchant", 15000, return_address=ADDRESS)
    _replays(w)
    with runtime.engine.begin() as conn:
        conn.execute(t.after_sales.update().where(t.after_sales.c.id == case.id).values(ruled_amount=19800))
    with runtime.uow() as uow:
        assert audit.verify(uow, "after_sale", case.id) == [
            f"after_sale {case.id}: ruled_amount is 19800, its events give 15000"
        ]
