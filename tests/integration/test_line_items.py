"""Requests per line item: units claimed once, refunds bound to what the units were paid, the
order's auto-complete paused while a request is open on it, and what remains per item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aftersales.domain.cases import TYPES
from aftersales.domain.errors import AmountExceedsRefundable, Conflict, ValidationFailed
from aftersales.services import audit, cases, orders
from bodies import ship_params
from builders import BUYER, MARKETPLACE, World

TEA = {"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 3, "unit_price": 10000}
CUP = {"sku": "cup", "title": "青瓷杯", "quantity": 1, "unit_price": 3333}


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _order(w: World, *, discount: int = 0, upto: str = "delivered", items: list[dict[str, Any]] | None = None) -> str:
    w.n += 1
    body = {
        "id": f"o-li-{w.n}",
        "buyer_id": "b-1",
        "merchant_id": "m-1",
        "payment_method": "online",
        "currency": "CNY",
        "shipping_fee": 800,
        "discount": discount,
        "items": items or [TEA, CUP],
    }
    with w.runtime.uow() as uow:
        order = orders.create(uow, w.runtime.env, MARKETPLACE, body)
        uow.commit()
    for action in ["pay", "ship", "deliver", "complete"][
        : ["stocking", "shipped", "delivered", "completed"].index(upto) + 1
    ]:
        w.order_act(order.id, action, ship_params(order.id) if action == "ship" else {})
    return order.id


def _file(w: World, order_id: str, items: list[dict[str, Any]] | None, type_: str = "refund_only", **over: Any):
    body = {"order_id": order_id, "type": type_, "reason": "quality_problem", **over}
    if items is not None:
        body["items"] = items
    with w.runtime.uow() as uow:
        case = cases.file(uow, w.runtime.env, BUYER, body)
        uow.commit()
    return case


def _eligibility(w: World, order_id: str) -> dict[str, dict[str, Any]]:
    with w.runtime.uow() as uow:
        found = cases.eligibility(uow, w.runtime.env, BUYER, order_id)
    return {i["sku"]: i for i in found["items"]} | {"": found}


def _audit_clean(w: World) -> None:
    with w.runtime.uow() as uow:
        assert audit.verify_all(uow) == []


def test_two_requests_on_different_units_and_never_the_same_unit_twice(w: World) -> None:
    order_id = _order(w, discount=3333)  # 33 333 of goods, 3 333 off: 30 000 for the goods
    first = _file(w, order_id, [{"sku": "tea-250g", "quantity": 2}])
    assert first.items == [{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 10000}]
    # 30 000 spread in proportion: the teas 27 000 (9 000 each), the cup 3 000.
    assert first.amount == 18000
    second = _file(w, order_id, [{"sku": "cup", "quantity": 1}, {"sku": "tea-250g", "quantity": 1}])
    assert second.amount == 12000
    with pytest.raises(ValidationFailed) as more:
        _file(w, order_id, [{"sku": "tea-250g", "quantity": 1}])
    assert more.value.code == "quantity_exceeds_remaining"
    with pytest.raises(Conflict) as none_left:
        _file(w, order_id, None)
    assert none_left.value.code == "case_already_open"
    assert w.get_order(order_id).open_case_ids == sorted([first.id, second.id])
    _audit_clean(w)


def test_the_amount_is_bound_by_the_units_it_covers(w: World) -> None:
    order_id = _order(w)
    with pytest.raises(AmountExceedsRefundable):
        _file(w, order_id, [{"sku": "cup", "quantity": 1}], amount=3334)
    for bad in ([{"sku": "nope", "quantity": 1}], [{"sku": "cup", "quantity": 1}, {"sku": "cup", "quantity": 1}]):
        with pytest.raises(ValidationFailed):
            _file(w, order_id, bad)
    assert w.get_order(order_id).open_case_ids == []  # the refusals claimed nothing
    case = _file(w, order_id, [{"sku": "cup", "quantity": 1}], amount=3333)
    assert case.amount == 3333


def test_refunds_count_per_unit_and_what_remains_is_what_was_not_refunded(w: World) -> None:
    order_id = _order(w, upto="completed")
    partial = _file(w, order_id, [{"sku": "tea-250g", "quantity": 2}], amount=5000)
    w.act(partial.id, "approve")  # a refund_only request: refunded at once
    after = _eligibility(w, order_id)
    assert after["tea-250g"]["quantity_remaining"] == 3  # refunded in part: still claimable
    assert after["tea-250g"]["refunded"] == 5000 and after["tea-250g"]["refundable"] == 30000 - 5000
    assert after["tea-250g"]["types"] == list(TYPES)
    # The two teas refunded in part are worth 7 500 each now; the third 10 000: a request on all
    # three may get 25 000, no more.
    rest = _file(w, order_id, [{"sku": "tea-250g", "quantity": 3}])
    assert rest.amount == 25000
    w.act(rest.id, "approve")
    done = _eligibility(w, order_id)
    assert done["tea-250g"]["quantity_remaining"] == 0 and done["tea-250g"]["types"] == []
    assert done["cup"]["quantity_remaining"] == 1 and done[""]["refundable"] == 3333
    assert sum(r.amount for r in w.refunds(order_id=order_id)) == 30000
    _audit_clean(w)


def test_goods_sent_back_settle_their_units(w: World) -> None:
    order_id = _order(w)
    case = _file(w, order_id, [{"sku": "tea-250g", "quantity": 1}], type_="return_refund", amount=4000)
    w.walk(case, "approve", "ship_return", "confirm_receipt")
    left = _eligibility(w, order_id)["tea-250g"]
    assert left["quantity_remaining"] == 2 and left["refundable"] == 20000  # that unit is gone for good


def test_the_order_does_not_auto_complete_while_a_request_is_open(w: World) -> None:
    order_id = _order(w)  # delivered now: auto-complete in 7 days
    assert w.get_order(order_id).deadline_due_at == w.clock.now() + timedelta(days=7)
    w.advance(days=2)
    case = _file(w, order_id, [{"sku": "cup", "quantity": 1}], type_="return_refund")
    w.advance(days=10)  # far past the 7 days: paused (and the merchant's 48 h auto-approved)
    assert w.get_order(order_id).status == "delivered" and w.get_case(case.id).status == "awaiting_return"
    w.act(case.id, "withdraw", actor=BUYER)
    order = w.get_order(order_id)  # 5 of the 7 days were left when the request opened
    assert (order.deadline_action, order.deadline_due_at) == ("auto_complete", w.clock.now() + timedelta(days=5))
    w.advance(days=5, seconds=-1)
    assert w.get_order(order_id).status == "delivered"
    w.advance(seconds=1)
    assert w.get_order(order_id).status == "completed"
    _audit_clean(w)


def test_resumes_only_when_the_last_request_closes(w: World) -> None:
    order_id = _order(w)
    due = w.get_order(order_id).deadline_due_at
    a = _file(w, order_id, [{"sku": "cup", "quantity": 1}], type_="return_refund")
    b = _file(w, order_id, [{"sku": "tea-250g", "quantity": 1}], type_="return_refund")
    w.advance(hours=1)
    w.act(a.id, "withdraw", actor=BUYER)
    assert w.get_order(order_id).deadline_due_at is None  # b still holds a unit
    w.advance(hours=5)
    w.act(b.id, "withdraw", actor=BUYER)
    assert w.get_order(order_id).deadline_due_at == due + timedelta(hours=6)
    assert len(w.deadlines(order_id)) == 1


def test_an_order_delivered_during_a_request_starts_its_timer_paused(w: World) -> None:
    order_id = _order(w, upto="shipped")
    case = _file(w, order_id, None, reason="not_received")
    w.order_act(order_id, "deliver")
    assert w.get_order(order_id).deadline_due_at is None and w.deadlines(order_id) == []
    w.advance(days=1)
    w.act(case.id, "withdraw", actor=BUYER)
    order = w.get_order(order_id)
    assert order.deadline_due_at == w.clock.now() + timedelta(days=7)  # the whole 7 days, from now
    _audit_clean(w)


def test_window_ends_and_types_in_the_eligibility(w: World) -> None:
    order_id = _order(w, upto="completed")
    first = _eligibility(w, order_id)
    assert first[""]["window_ends_at"] == w.get_order(order_id).completed_at + timedelta(days=7)
    w.advance(days=7, seconds=1)
    late = _eligibility(w, order_id)
    assert late["tea-250g"]["types"] == [] and late["tea-250g"]["quantity_remaining"] == 3
    shipped = _eligibility(w, _order(w, upto="shipped"))
    assert shipped["cup"]["types"] == ["refund_only", "price_protection"] and shipped[""]["window_ends_at"] is None
    delivered = _order(w)
    w.advance(days=7, seconds=1)  # (the delivered order's own auto-complete is also due now)
    kept = _eligibility(w, delivered)  # past the price-protection window of its payment
    assert "price_protection" not in kept["cup"]["types"] and "refund_only" in kept["cup"]["types"]


def test_an_order_with_a_repeated_sku_or_too_big_a_discount_is_refused(w: World) -> None:
    for items, discount in (([TEA, TEA], 0), ([CUP], 3334)):
        with pytest.raises(ValidationFailed), w.runtime.uow() as uow:
            orders.create(
                uow,
                w.runtime.env,
                MARKETPLACE,
                {
                    "id": "o-bad",
                    "buyer_id": "b-1",
                    "merchant_id": "m-1",
                    "payment_method": "online",
                    "currency": "CNY",
                    "items": items,
                    "discount": discount,
                },
            )
