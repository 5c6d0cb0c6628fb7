"""Small builders for service-level tests: orders, cases and deadline firing in a few words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from aftersales.domain.cases import Case
from aftersales.domain.clock import ManualClock
from aftersales.domain.orders import Order
from aftersales.runtime import Runtime
from aftersales.services import cases, orders
from aftersales.services.context import Actor
from aftersales.store import tables as t
from aftersales.worker.engine import DeadlineEngine
from bodies import ADDRESS, case_body, order_body, order_path, ship_params

MARKETPLACE = Actor("integration", "marketplace")
BUYER = Actor("buyer", "b-1")
MERCHANT = Actor("merchant", "m-1-staff", merchant_id="m-1")
AGENT = Actor("agent", "agent-1")
__all__ = ["ADDRESS", "AGENT", "BUYER", "MARKETPLACE", "MERCHANT", "World"]


class World:
    def __init__(self, runtime: Runtime, clock: ManualClock) -> None:
        self.runtime, self.clock, self.n = runtime, clock, 0

    # orders -------------------------------------------------------------
    def order(
        self,
        method: str = "online",
        upto: str = "delivered",
        *,
        price: int = 9900,
        qty: int = 2,
        shipping_fee: int = 1000,
        policy: str | None = None,
        buyer: str = "b-1",
        merchant: str = "m-1",
        creator: str | None = None,
    ) -> Order:
        self.n += 1
        data = order_body(
            f"o-{self.n}",
            buyer=buyer,
            merchant=merchant,
            method=method,
            quantity=qty,
            unit_price=price,
            shipping_fee=shipping_fee,
            policy=policy,
            creator=creator,
        )
        with self.runtime.uow() as uow:
            order = orders.create(uow, self.runtime.env, MARKETPLACE, data)
            uow.commit()
        for action in order_path(method, upto):
            who = Actor("merchant", f"{merchant}-staff", merchant_id=merchant) if action == "confirm" else MARKETPLACE
            order = self.order_act(order.id, action, ship_params(order.id) if action == "ship" else {}, actor=who)
        return order

    def order_act(
        self, order_id: str, action: str, params: dict[str, Any] | None = None, *, actor: Actor = MARKETPLACE
    ) -> Order:
        with self.runtime.uow() as uow:
            order = orders.act(uow, self.runtime.env, actor, order_id, action, params or {})
            uow.commit()
        return order

    def get_order(self, order_id: str) -> Order:
        with self.runtime.uow() as uow:
            found = uow.orders.get(order_id)
        assert found is not None
        return found

    # cases --------------------------------------------------------------
    def case(
        self,
        order: Order | None = None,
        type_: str = "return_refund",
        *,
        amount: int | None = None,
        reason: str = "quality_problem",
        method: str = "online",
        buyer: Actor = BUYER,
    ) -> Case:
        order = order or self.order(method)
        with self.runtime.uow() as uow:
            case = cases.file(
                uow, self.runtime.env, buyer, case_body(order.id, type=type_, reason=reason, amount=amount)
            )
            uow.commit()
        return case

    def act(
        self, case_id: str, action: str, params: dict[str, Any] | None = None, *, actor: Actor | None = None
    ) -> Case:
        actor = actor or _default_actor(action)
        with self.runtime.uow() as uow:
            case = cases.act(uow, self.runtime.env, actor, case_id, action, params or {})
            uow.commit()
        return case

    def get_case(self, case_id: str) -> Case:
        with self.runtime.uow() as uow:
            found = uow.cases.get(case_id)
        assert found is not None
        return found

    def walk(self, case: Case, *steps: str) -> Case:
        """Take the usual party actions with their usual inputs, in order."""
        for step in steps:
            case = self.act(case.id, step, _USUAL.get(step, {}))
        return case

    # time ---------------------------------------------------------------
    def advance(self, **delta: float) -> int:
        """Move the clock and fire what fell due, as a worker would; the number fired."""
        self.clock.advance(timedelta(**delta))
        engine = self.engine()
        fired = engine.run_until_idle(max_wait=0)
        assert engine.stats.failed == 0, "a deadline batch failed and rolled back (see the log)"
        return fired

    def engine(self, worker_id: str = "test-worker", **kwargs: Any) -> DeadlineEngine:
        return DeadlineEngine(self.runtime.engine, self.runtime.env, worker_id, **kwargs)

    # ledgers ------------------------------------------------------------
    def refunds(self, **where: Any) -> list[Any]:
        return self._rows(t.refunds, where)

    def violations(self, **where: Any) -> list[Any]:
        return self._rows(t.violations, where)

    def events(self, subject_id: str) -> list[Any]:
        return self._rows(t.events, {"subject_id": subject_id}, order=t.events.c.id)

    def deadlines(self, subject_id: str) -> list[Any]:
        return self._rows(t.deadlines, {"subject_id": subject_id})

    def _rows(self, table: sa.Table, where: dict[str, Any], order: Any = None) -> list[Any]:
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        if order is not None:
            query = query.order_by(order)
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(query))


_USUAL: dict[str, dict[str, Any]] = {
    "approve": {"return_address": ADDRESS},
    "reject": {"reason": "no_quality_issue", "note": "检测合格"},
    "ship_return": {"carrier": "ZTO", "tracking_number": "ZT1"},
    "confirm_receipt": {},
    "refund_voucher": {},
    "escalate": {"statement": "请平台介入"},
    "dispute_return": {"reason": "damaged", "statement": "退回商品已损坏"},
    "offer": {"amount": 5000, "note": "部分退款，商品无需退回"},
    "extend": {"hours": 24, "reason": "等待质检结果"},
}
_BUYER_ACTIONS = {"ship_return", "withdraw", "escalate", "confirm_exchange", "accept_offer", "decline_offer"}


def _default_actor(action: str) -> Actor:
    return BUYER if action in _BUYER_ACTIONS else MERCHANT
