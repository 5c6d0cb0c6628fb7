"""Rules of filing, amounts and money that the service layer enforces, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import (
    AmountExceedsRefundable,
    Conflict,
    DeadlinePassed,
    Forbidden,
    IllegalTransition,
    NotFound,
    PreconditionFailed,
)
from aftersales.services import cases
from aftersales.services.context import Actor
from builders import BUYER, MARKETPLACE, MERCHANT, World


def test_amount_defaults_to_goods_paid_without_shipping(runtime, clock):
    w = World(runtime, clock)
    case = w.case(w.order(price=9900, qty=2, shipping_fee=1000))
    assert case.amount == 19800


def test_amount_above_what_is_refundable_is_refused(runtime, clock):
    w = World(runtime, clock)
    with pytest.raises(AmountExceedsRefundable):
        w.case(amount=19801)


def test_one_open_request_per_order_and_a_new_one_after_it_closes(runtime, clock):
    w = World(runtime, clock)
    order = w.order()
    first = w.case(order)
    with pytest.raises(Conflict) as err:
        w.case(order)
    assert err.value.code == "case_already_open"
    w.act(first.id, "withdraw", actor=BUYER)
    assert w.case(order).status == "pending_merchant"


def test_partial_refunds_in_sequence_never_exceed_what_was_paid(runtime, clock):
    w = World(runtime, clock)
    order = w.order(method="online")
    first = w.case(order, "refund_only", amount=5000)
    w.walk(first, "approve")
    second = w.case(order, "refund_only")
    assert second.amount == 14800
    w.walk(second, "approve")
    with pytest.raises(Conflict) as err:
        w.case(order, "refund_only")
    assert err.value.code == "nothing_refundable"
    assert sum(r.amount for r in w.refunds(order_id=order.id)) == 19800 == w.get_order(order.id).refunded_amount


def test_requests_may_follow_completion_for_the_after_sales_window_only(runtime, clock):
    w = World(runtime, clock)
    order = w.order(upto="completed")
    clock.advance(timedelta(days=7))
    w.act(w.case(order).id, "withdraw", actor=BUYER)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(DeadlinePassed) as err:
        w.case(order)
    assert err.value.code == "after_sales_period_over"


def test_refund_only_may_be_asked_in_transit_but_a_return_needs_delivery(runtime, clock):
    w = World(runtime, clock)
    shipped = w.order(upto="shipped")
    with pytest.raises(IllegalTransition):
        w.case(shipped, "return_refund")
    assert w.case(shipped, "refund_only", reason="not_received").status == "pending_merchant"
    with pytest.raises(IllegalTransition):
        w.case(w.order(upto="stocking"), "refund_only")


def test_cod_refund_is_paid_by_the_merchant_with_a_voucher(runtime, clock):
    w = World(runtime, clock)
    case = w.walk(w.case(method="cod"), "approve", "ship_return", "confirm_receipt")
    assert case.status == "awaiting_refund_voucher"
    with runtime.uow() as uow:
        import io

        from aftersales.services import evidence

        voucher = evidence.upload(
            uow,
            runtime.env,
            MERCHANT,
            kind="other",
            stream=io.BytesIO(b"%PDF-1.4 voucher\n%%EOF\n"),
            filename="voucher.pdf",
        )["id"]
        uow.commit()
    case = w.act(case.id, "refund_voucher", {"evidence": [voucher]})
    assert case.status == "refunded"
    assert [(r.method, r.payer, r.amount) for r in w.refunds(after_sale_id=case.id)] == [
        ("merchant_cod", "merchant", 19800)
    ]


def test_exchange_ships_a_replacement_then_the_buyer_confirms(runtime, clock):
    w = World(runtime, clock)
    case = w.walk(w.case(type_="exchange"), "approve", "ship_return")
    with pytest.raises(Exception) as err:
        w.act(case.id, "confirm_receipt", {})
    assert getattr(err.value, "code", "") == "validation_error"
    case = w.act(case.id, "confirm_receipt", {"carrier": "SF", "tracking_number": "SF2"})
    assert (case.status, case.exchange_tracking) == ("exchange_shipped", "SF2")
    assert w.act(case.id, "confirm_exchange", actor=BUYER).status == "completed"
    assert w.refunds(after_sale_id=case.id) == []


def test_the_case_keeps_its_policy_and_a_stale_version_is_refused(runtime, clock):
    w = World(runtime, clock)
    case = w.case(w.order(policy="tiktok_shop@1"))
    assert case.policy == "tiktok_shop@1"
    with runtime.uow() as uow, pytest.raises(PreconditionFailed):
        cases.act(uow, runtime.env, MERCHANT, case.id, "approve", {"return_address": "x"}, if_match=case.version + 1)


def test_others_cannot_see_and_roles_cannot_overreach(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    with pytest.raises(NotFound):
        w.act(case.id, "withdraw", actor=Actor("buyer", "b-2"))
    with pytest.raises(NotFound):
        w.act(case.id, "approve", {"return_address": "x"}, actor=Actor("merchant", "m-2-staff", merchant_id="m-2"))
    with pytest.raises(Forbidden):
        w.act(case.id, "approve", {"return_address": "x"}, actor=BUYER)


def test_a_paid_online_order_cancelled_before_shipping_is_refunded_in_full(runtime, clock):
    w = World(runtime, clock)
    order = w.order(upto="stocking")
    w.order_act(order.id, "cancel", {"reason": "不想要了"}, actor=BUYER)
    assert [(r.amount, r.method) for r in w.refunds(order_id=order.id)] == [(20800, "original_payment")]
    with pytest.raises(Forbidden):
        w.order_act(w.order(upto="stocking").id, "cancel", actor=MERCHANT)


def test_cod_is_paid_on_delivery(runtime, clock):
    w = World(runtime, clock)
    order = w.order(method="cod", upto="shipped")
    assert order.paid_amount == 0
    assert w.order_act(order.id, "deliver", actor=MARKETPLACE).paid_amount == 20800
