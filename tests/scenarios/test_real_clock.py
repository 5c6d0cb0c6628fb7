"""On the real clock (as in production, unlike the suites' ManualClock, where every read returns
the same instant), one transition must read the time once: the row and the event it writes carry
the same moment, so an audit replay of the events rebuilds the row exactly."""

from __future__ import annotations

from aftersales.domain.clock import SystemClock
from aftersales.runtime import Runtime
from aftersales.services import audit, cases, orders
from aftersales.services.context import Actor
from bodies import ADDRESS, case_body, order_body, order_path, ship_params

MARKET = Actor("integration", "marketplace")


def test_a_case_closed_on_the_real_clock_replays_exactly(settings, engine):
    runtime = Runtime.build(settings, clock=SystemClock(), engine=engine)
    env = runtime.env
    with runtime.uow() as uow:
        orders.create(uow, env, MARKET, order_body("o-1", quantity=1, unit_price=900, shipping_fee=0))
        for action in order_path("online", "delivered"):
            orders.act(uow, env, MARKET, "o-1", action, ship_params("o-1") if action == "ship" else {})
        buyer, merchant = Actor("buyer", "b-1"), Actor("merchant", "m-1-staff", "m-1")
        case = cases.file(uow, env, buyer, case_body("o-1", reason="damaged"))
        cases.act(uow, env, merchant, case.id, "approve", {"return_address": ADDRESS})
        cases.act(uow, env, buyer, case.id, "ship_return", {"carrier": "ZTO", "tracking_number": "ZT1"})
        closed = cases.act(uow, env, merchant, case.id, "confirm_receipt")
        uow.commit()
    assert closed.status == "refunded"
    with runtime.uow() as uow:
        assert audit.verify_all(uow) == []
