"""Reship 补寄: missing or short-shipped units are sent by the merchant with tracking; the buyer
confirms, or it completes by itself; a merchant who lets its answer lapse refunds those units."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import Forbidden, IllegalTransition
from aftersales.services import cases
from builders import BUYER, World

SHIPMENT = {"carrier": "SF", "tracking_number": "SF-RE-1"}


@pytest.fixture
def w(runtime, clock) -> World:
    return World(runtime, clock)


def _reship_case(w: World, upto: str = "delivered"):
    order = w.order(upto=upto)  # two teas at 99.00
    with w.runtime.uow() as uow:
        case = cases.file(
            uow,
            w.runtime.env,
            BUYER,
            {
                "order_id": order.id,
                "type": "reship",
                "reason": "missing_items",
                "items": [{"sku": "tea-250g", "quantity": 1}],
            },
        )
        uow.commit()
    return order, case


def test_the_merchant_reships_and_the_buyer_confirms(w: World) -> None:
    order, case = _reship_case(w)
    assert case.amount == 9900  # what is at stake: the missing unit
    shipped = w.act(case.id, "reship", SHIPMENT)
    assert shipped.status == "reshipped" and (shipped.exchange_carrier, shipped.exchange_tracking) == ("SF", "SF-RE-1")
    assert shipped.deadline_due_at == w.clock.now() + timedelta(days=7)  # reship_receipt
    done = w.act(case.id, "confirm_reship", actor=BUYER)
    assert done.status == "completed" and w.refunds(order_id=order.id) == []
    assert w.get_order(order.id).open_case_ids == []  # the units are free again (and not refunded)


def test_a_reship_completes_by_itself_once_the_buyer_lets_it_be(w: World) -> None:
    _, case = _reship_case(w)
    w.act(case.id, "reship", SHIPMENT)
    w.advance(days=7, seconds=-1)
    assert w.get_case(case.id).status == "reshipped"
    w.advance(seconds=1)
    assert w.get_case(case.id).status == "completed"


def test_a_merchant_who_lets_it_lapse_refunds_the_units(w: World) -> None:
    order, case = _reship_case(w)
    w.advance(hours=48, seconds=-1)
    assert w.get_case(case.id).status == "pending_merchant"
    w.advance(seconds=1)
    assert w.get_case(case.id).status == "refunded"
    assert [r.amount for r in w.refunds(order_id=order.id)] == [9900]


def test_a_merchant_may_answer_with_money_and_may_not_reship_other_types(w: World) -> None:
    _, case = _reship_case(w)
    assert w.act(case.id, "approve").status == "refunded"
    other = w.case(w.order(), "refund_only")
    with pytest.raises(Forbidden):  # (the machine's answer when no transition fits the case)
        w.act(other.id, "reship", SHIPMENT)


def test_a_reship_needs_the_goods_delivered(w: World) -> None:
    with pytest.raises(IllegalTransition):
        _reship_case(w, upto="shipped")
