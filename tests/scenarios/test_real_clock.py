"""On the real clock (as in production, unlike the suites' ManualClock, where every read returns
the same instant), one transition must read the time once: the row and the event it writes carry
the same moment, so an audit replay of the events rebuilds the row exactly."""

from __future__ import annotations

from aftersales.domain.clock import SystemClock
from aftersales.runtime import Runtime
from aftersales.services import audit, cases, orders
from aftersales.services.context import Actor

MARKET = Actor("integration", "marketplace")


def test_a_case_closed_on_the_real_clock_replays_exactly(settings, engine):
    runtime = Runtime.build(settings, clock=SystemClock(), engine=engine)
    env = runtime.env
    with runtime.uow() as uow:
        orders.create(
            uow,
            env,
            MARKET,
            {
                "id": "o-1",
                "buyer_id": "b-1",
                "merchant_id": "m-1",
                "payment_method": "online",
                "currency": "CNY",
                "shipping_fee": 0,
                "policy": None,
                "items": [{"sku": "s", "title": "t", "quantity": 1, "unit_price": 900}],
            },
        )
        for action, params in [("pay", {}), ("ship", {"carrier": "SF", "tracking_number": "SF1"}), ("deliver", {})]:
            orders.act(uow, env, MARKET, "o-1", action, params)
        buyer, merchant = Actor("buyer", "b-1"), Actor("merchant", "m-1-staff", "m-1")
        case = cases.file(
            uow, env, buyer, {"order_id": "o-1", "type": "return_refund", "reason": "damaged", "amount": None}
        )
        cases.act(uow, env, merchant, case.id, "approve", {"return_address": "杭州"})
        cases.act(uow, env, buyer, case.id, "ship_return", {"carrier": "ZTO", "tracking_number": "ZT1"})
        closed = cases.act(uow, env, merchant, case.id, "confirm_receipt")
        uow.commit()
    assert closed.status == "refunded"
    with runtime.uow() as uow:
        assert audit.verify_all(uow) == []
