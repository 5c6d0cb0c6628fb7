"""Several threads racing conflicting actions: one winner, the rest a clean conflict, no torn state."""

from __future__ import annotations

import threading

import pytest

from aftersales.domain.cases import DEADLINES
from aftersales.domain.errors import Conflict, DeadlinePassed, IllegalTransition, VersionConflict
from aftersales.services import cases
from aftersales.services.context import Actor
from aftersales.store import tables as t
from builders import BUYER, MERCHANT, World

CONFLICTS = (VersionConflict, IllegalTransition, Conflict, DeadlinePassed)


def _race(runtime, attempts):
    """Run each (actor, action, params) in its own thread and transaction, released together."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def run(i, actor, case_id, action, params):
        barrier.wait()
        try:
            with runtime.uow() as uow:
                cases.act(uow, runtime.env, actor, case_id, action, params)
                uow.commit()
            results[i] = "ok"
        except CONFLICTS as exc:
            results[i] = exc
        except Exception as exc:
            results[i] = f"unexpected {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(i, *a)) for i, a in enumerate(attempts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    return results


@pytest.mark.parametrize("round_", range(3))
def test_eight_conflicting_actions_have_one_winner_and_a_consistent_case(runtime, clock, round_):
    w = World(runtime, clock)
    case = w.case()
    address = {"return_address": "杭州"}
    # Mutually exclusive: after either, neither is legal. (A buyer's withdrawal is legal after
    # both, so where writers queue, as on SQLite, it would rightly win as well.)
    attempts = [(MERCHANT, case.id, "approve", address)] * 4 + [
        (MERCHANT, case.id, "reject", {"reason": "no_quality_issue"})
    ] * 4
    results = _race(runtime, attempts)
    assert results.count("ok") == 1, results
    assert all(isinstance(r, CONFLICTS) for r in results if r != "ok"), results
    final = w.get_case(case.id)
    transitions = [e for e in w.events(case.id) if e.action != "file"]
    assert len(transitions) == 1 and transitions[0].after["status"] == final.status
    assert final.version == 2
    armed = w.deadlines(case.id)
    expected = DEADLINES.get(final.status)
    assert [(d.action, d.armed_version) for d in armed] == ([(expected[0], final.version)] if expected else [])


def test_two_requests_for_one_order_filed_at_once_make_one_case(runtime, clock):
    w = World(runtime, clock)
    order = w.order()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def file():
        barrier.wait()
        try:
            with runtime.uow() as uow:
                cases.file(
                    uow,
                    runtime.env,
                    BUYER,
                    {"order_id": order.id, "type": "return_refund", "reason": "damaged", "amount": None},
                )
                uow.commit()
            outcomes.append("ok")
        except CONFLICTS as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=file) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert outcomes.count("ok") == 1, outcomes
    assert len(w._rows(t.after_sales, {"order_id": order.id})) == 1


def test_a_merchant_racing_the_worker_on_the_same_deadline_produces_one_effect(runtime, clock):
    from datetime import timedelta

    w = World(runtime, clock)
    case = w.case()
    clock.advance(timedelta(hours=48))
    engine = w.engine()
    with runtime.uow() as uow:
        taken = engine.take(uow)
        assert [r.subject_id for r in taken if r.subject_kind == "after_sale"] == [case.id]
        if uow.dialect == "postgresql":  # (SQLite has one writer at a time: the merchant would queue)
            results = _race(
                runtime,
                [(Actor("merchant", "m-1-staff", merchant_id="m-1"), case.id, "approve", {"return_address": "杭州"})],
            )
            # The merchant is too late (the system owns the lapsed step), and the worker then fires once.
            assert isinstance(results[0], DeadlinePassed)
        assert engine.fire(uow, taken) == 1
        uow.commit()
    assert [e.action for e in w.events(case.id)] == ["file", "auto_approve"]
