"""Price protection 价保: within the policy's window after payment, a lower price for the same
item refunds the difference per unit, once per price drop."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from aftersales.domain.errors import Conflict, DeadlinePassed, Forbidden, ValidationFailed
from aftersales.services import cases, evidence, prices
from builders import BUYER, MARKETPLACE, MERCHANT, World


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _drop(w: World, price: int, sku: str = "tea-250g", merchant: str = "m-1") -> str:
    with w.runtime.uow() as uow:
        row = prices.report(uow, w.runtime.env, MARKETPLACE, {"merchant_id": merchant, "sku": sku, "price": price})
        uow.commit()
    return str(row["id"])


def _claim(w: World, order_id: str, **over: Any):
    body = {"order_id": order_id, "type": "price_protection", "reason": "price_drop", **over}
    with w.runtime.uow() as uow:
        case = cases.file(uow, w.runtime.env, BUYER, body)
        uow.commit()
    return case


def test_a_reported_drop_refunds_the_difference_per_unit_once(w: World) -> None:
    order = w.order(upto="shipped")  # two teas at 99.00, paid
    drop = _drop(w, 8000)
    case = _claim(w, order.id, price_drop_id=drop)
    assert case.amount == 2 * (9900 - 8000) and case.extra["price_protection"] == {
        "price_drop_id": drop,
        "new_price": 8000,
    }
    with pytest.raises(Conflict) as twice:
        _claim(w, order.id, price_drop_id=drop)
    assert twice.value.code in ("price_drop_claimed", "case_already_open")
    assert w.act(case.id, "approve").status == "refunded"
    assert [r.amount for r in w.refunds(order_id=order.id)] == [3800]
    with pytest.raises(Conflict) as paid:
        _claim(w, order.id, price_drop_id=drop)
    assert paid.value.code == "price_drop_claimed"
    # A later, lower drop is a new one: only the further difference is left on those units.
    again = _claim(w, order.id, price_drop_id=_drop(w, 7000))
    assert again.amount == 2 * (9900 - 7000) - 3800


def test_within_the_window_after_payment_only(w: World) -> None:
    order = w.order(upto="stocking")
    w.advance(days=7, seconds=-1)
    case = _claim(w, order.id, price_drop_id=_drop(w, 9000))
    w.act(case.id, "withdraw", actor=BUYER)
    w.advance(seconds=2)
    with pytest.raises(DeadlinePassed) as late:
        _claim(w, order.id, price_drop_id=_drop(w, 8500))
    assert late.value.code == "price_protection_over"


def test_a_drop_must_be_of_this_shops_item_after_payment(w: World) -> None:
    early = _drop(w, 5000)
    w.clock.advance(timedelta(minutes=1))
    order = w.order(upto="stocking")
    for drop in (_drop(w, 5000, sku="other"), _drop(w, 5000, merchant="m-2")):
        with pytest.raises(ValidationFailed) as wrong:
            _claim(w, order.id, price_drop_id=drop)
        assert wrong.value.code == "unknown_price_drop"
    with pytest.raises(ValidationFailed) as before:
        _claim(w, order.id, price_drop_id=early)
    assert before.value.code == "price_drop_before_payment"
    with pytest.raises(Conflict) as higher:
        _claim(w, order.id, price_drop_id=_drop(w, 9900))
    assert higher.value.code == "nothing_refundable"


def test_a_price_the_buyer_saw_needs_evidence_and_the_merchant_decides(w: World) -> None:
    order = w.order(upto="delivered")
    with pytest.raises(ValidationFailed) as bare:
        _claim(w, order.id, new_price=9000)
    assert bare.value.code == "evidence_required"
    with pytest.raises(ValidationFailed):
        _claim(w, order.id)  # neither a drop nor a price
    with pytest.raises(ValidationFailed), w.runtime.uow() as uow:  # a price is for price protection only
        cases.file(
            uow,
            w.runtime.env,
            BUYER,
            {"order_id": order.id, "type": "refund_only", "reason": "damaged", "new_price": 1},
        )
    with w.runtime.uow() as uow:
        shot = evidence.upload(
            uow, w.runtime.env, BUYER, kind="product_media", stream=io.BytesIO(b"price now 90.00\n"), filename="p.txt"
        )
        uow.commit()
    case = _claim(w, order.id, new_price=9000, evidence=[shot["id"]], items=[{"sku": "tea-250g", "quantity": 1}])
    assert case.status == "pending_merchant" and case.amount == 900
    assert w.act(case.id, "reject", {"reason": "no_quality_issue", "note": "活动价不同"}).status == "rejected"


def test_only_the_marketplace_reports_drops(w: World) -> None:
    with pytest.raises(Forbidden), w.runtime.uow() as uow:
        prices.report(uow, w.runtime.env, MERCHANT, {"merchant_id": "m-1", "sku": "tea-250g", "price": 1})
