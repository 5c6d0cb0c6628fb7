"""极速退款 speedy refund: a qualifying buyer is refunded as the return ships back; the merchant may
still dispute what arrives, and if the platform rules for the merchant the platform bears it."""

from __future__ import annotations

import pytest

from aftersales.services import audit, disputes, refunds, rulings
from aftersales.services.context import Actor
from aftersales.store import tables as t
from builders import AGENT, MARKETPLACE, World

ADMIN = Actor("admin", "admin-1")


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _do(w: World, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def _shipped_back(w: World, **order: object):
    case = w.case(w.order(**order), "return_refund", amount=9900)
    return w.walk(case, "approve", "ship_return")


def _audit_clean(w: World) -> None:
    with w.runtime.uow() as uow:
        assert audit.verify_all(uow) == []


def test_a_qualifying_return_is_refunded_as_it_ships_back_and_not_again_on_receipt(w: World) -> None:
    case = _shipped_back(w)
    assert case.status == "return_shipped"
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [9900]
    assert w.get_order(case.order_id).refunded_amount == 9900
    done = w.act(case.id, "confirm_receipt")
    assert done.status == "refunded" and [r.amount for r in w.refunds(after_sale_id=case.id)] == [9900]
    _audit_clean(w)


def test_the_carriers_pickup_reported_by_the_integration_refunds_too(w: World) -> None:
    case = w.walk(w.case(w.order(), "return_refund", amount=9900), "approve")
    picked = w.act(case.id, "ship_return", {"carrier": "SF", "tracking_number": "SF-PICK-1"}, actor=MARKETPLACE)
    assert picked.status == "return_shipped" and picked.return_tracking == "SF-PICK-1"
    assert [r.amount for r in w.refunds(after_sale_id=case.id)] == [9900]


def test_over_the_limit_cod_or_a_policy_without_it_waits_for_the_goods(w: World) -> None:
    big = w.walk(w.case(w.order(price=30000), "return_refund"), "approve", "ship_return")  # asks 60 000
    cod = _shipped_back(w, method="cod")
    tiktok = _shipped_back(w, policy="tiktok_shop@1")
    for case in (big, cod, tiktok):
        assert case.status == "return_shipped" and w.refunds(after_sale_id=case.id) == []
    assert w.act(big.id, "confirm_receipt").status == "refunded"
    assert [r.amount for r in w.refunds(after_sale_id=big.id)] == [60000]


def test_a_buyer_once_held_liable_does_not_qualify(w: World) -> None:
    _do(w, disputes.upsert_agent, ADMIN, "agent-1", {"name": "小周", "capacity": 50, "active": True})
    lost = w.walk(w.case(w.order(), "refund_only"), "reject", "escalate")
    body = {"outcome": "deny", "liable_party": "buyer", "rationale": "证据不足", "amount": None}
    _do(w, rulings.rule, AGENT, lost.dispute_id, body)
    case = _shipped_back(w)
    assert w.refunds(after_sale_id=case.id) == []


def test_ruled_for_the_merchant_the_platform_bears_the_speedy_refund(w: World) -> None:
    _do(w, disputes.upsert_agent, ADMIN, "agent-1", {"name": "小周", "capacity": 50, "active": True})
    case = _shipped_back(w)
    disputed = w.walk(case, "dispute_return")
    body = {"outcome": "deny", "liable_party": "buyer", "rationale": "退回商品已损坏", "amount": None}
    _do(w, rulings.rule, AGENT, disputed.dispute_id, body)
    paid = [dict(r._mapping) for r in w.refunds(after_sale_id=case.id)]
    settled = [dict(s._mapping) for s in w._rows(t.settlements, {"after_sale_id": case.id})]
    assert [r["amount"] for r in paid] == [9900]  # the buyer keeps it
    assert {k: v for k, v in refunds.borne(paid, settled).items() if v} == {"platform": 9900}
    assert w.get_case(case.id).status == "closed"
    _audit_clean(w)


def test_ruled_against_the_merchant_it_stays_the_merchants(w: World) -> None:
    _do(w, disputes.upsert_agent, ADMIN, "agent-1", {"name": "小周", "capacity": 50, "active": True})
    case = w.walk(_shipped_back(w), "dispute_return")
    body = {"outcome": "refund", "liable_party": "merchant", "rationale": "商品本身有质量问题", "amount": None}
    _do(w, rulings.rule, AGENT, case.dispute_id, body)
    paid = [dict(r._mapping) for r in w.refunds(after_sale_id=case.id)]
    settled = [dict(s._mapping) for s in w._rows(t.settlements, {"after_sale_id": case.id})]
    assert sum(r["amount"] for r in paid) == 9900  # never paid twice
    assert {k: v for k, v in refunds.borne(paid, settled).items() if v} == {"merchant": 9900}
    _audit_clean(w)
