"""The dashboard's hourly rollup (services/hourly_figures.py) gives the figures the per-request
aggregate of the cases gives (services/reports.py), on both databases, with real rows made by
the use cases while the clock moves: filings over days and hours, refunds decided, failed and
retried, disputes ruled against the shop and overturned, orders paid on delivery, deadlines
fired by the engine. And `rebuild` derives the very rows the changes kept."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from aftersales.domain.clock import ManualClock
from aftersales.services import hourly_figures, payments, reports, rulings
from aftersales.services.context import Actor
from aftersales.store import tables as t
from aftersales.web.i18n import timezone
from builders import AGENT, MERCHANT, World

AGENT_2 = Actor("agent", "agent-2")
ZONES = ("Asia/Shanghai", "America/New_York", "UTC")


def _do(w, fn, *args):
    with w.runtime.uow() as uow:
        out = fn(uow, w.runtime.env, *args)
        uow.commit()
    return out


def _aggregated(w, days):
    """The figures as the cases give them on request (the rollup's reference), for each zone."""
    with w.runtime.uow(read_only=True) as uow:
        p = reports.period(days, w.runtime.env.clock.now())
        hours = reports.filed_by_hour(uow, p.since, p.until)
        metrics = reports._metrics(uow, None, p)
    return metrics, {zone: _days(hours, p, zone) for zone in ZONES}


def _days(hours: Counter[datetime], p, zone_name: str) -> list:
    zone = timezone(zone_name)
    days: Counter = Counter()
    for at, n in hours.items():
        days[at.astimezone(zone).date()] += n
    first, last = p.since.astimezone(zone).date(), p.until.astimezone(zone).date()
    return [(first + timedelta(days=i), days[first + timedelta(days=i)]) for i in range((last - first).days + 1)]


def _rolled_up(w, days):
    with w.runtime.uow(read_only=True) as uow:
        p = reports.period(days, w.runtime.env.clock.now())
        boards = {zone: reports.dashboard(uow, AGENT, p, timezone(zone)) for zone in ZONES}
    return boards["UTC"].metrics, {zone: board.volume for zone, board in boards.items()}


def _assert_equal(w):
    for days in reports.PERIODS:
        assert _rolled_up(w, days) == _aggregated(w, days), f"{days} days at {w.clock.now()}"


def _rows(w):
    with w.runtime.engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for table in (t.case_hours, t.order_hours, t.case_marks)
        }


@pytest.fixture
def w(runtime, clock: ManualClock) -> World:
    now = clock.now()  # to 37 min 12 s past an hour: both ends of a period are parts of an hour
    clock.set(
        now.replace(minute=37, second=12, microsecond=0) + (timedelta(hours=1) if now.minute >= 37 else timedelta())
    )
    return World(runtime, clock)


def test_the_rollup_gives_the_aggregates_figures_as_cases_refunds_and_rulings_change(w, runtime):
    provider = runtime.payments
    w.walk(w.case(w.order(), "refund_only", reason="damaged"), "approve")  # decided, pending
    w.clock.advance(timedelta(hours=5, minutes=11))
    ruled = w.walk(w.case(w.order(), "refund_only", reason="not_as_described"), "reject", "escalate")
    body = {"outcome": "refund", "liable_party": "merchant", "amount": None, "rationale": "依据双方证据"}
    _do(w, rulings.rule, AGENT, ruled.dispute_id, body)  # lost by the shop, and refunded
    w.clock.advance(timedelta(days=2, hours=3))
    w.case(w.order(), "refund_only", reason="damaged")  # left to the shop: auto-approved when it lapses
    w.order("cod", upto="delivered")  # paid on delivery: an order's paid amount moves later
    _assert_equal(w)

    provider.set_fault("error")
    failing = w.walk(w.case(w.order(), "refund_only", reason="quality_problem"), "approve")
    payments.run(runtime.engine, runtime.env, provider)
    for wait in payments.BACKOFF:
        w.clock.advance(wait)
        payments.run(runtime.engine, runtime.env, provider)
    [refund] = w.refunds(after_sale_id=failing.id)
    assert refund.status == "failed"  # a failed transfer no longer counts
    _assert_equal(w)

    provider.set_fault("none")
    _do(w, payments.retry, AGENT, refund.id)  # pending again: counts again
    w.advance(days=3)  # the untouched request is auto-approved by the engine; refunds are paid
    payments.run_until_idle(runtime.engine, runtime.env, provider)
    _assert_equal(w)

    appeal = _do(w, rulings.appeal, MERCHANT, ruled.dispute_id, {"grounds": "请复核", "evidence": []})
    _do(w, rulings.decide, AGENT_2, appeal["id"], {"decision": "overturn", "rationale": "改判"})
    _assert_equal(w)
    with runtime.uow(read_only=True) as uow:
        board = reports.dashboard(uow, AGENT, reports.period(30, w.clock.now()), timezone("UTC"))
    assert board.metrics.total.requests == 4 and board.metrics.total.refunded_amount > 0
    assert sum(n for _, n in board.volume) == 4

    # The period's ends move through hours and days: still the same figures at every moment,
    # on an hour's boundary too, until the first requests leave the week.
    for step in (timedelta(minutes=23), timedelta(minutes=37, seconds=48), timedelta(days=3, hours=7)):
        w.clock.advance(step)
        _assert_equal(w)
    assert _rolled_up(w, 7)[0].total.requests < 4


def test_rebuild_derives_the_rows_the_changes_kept(w, runtime):
    w.walk(w.case(w.order(), "refund_only", reason="damaged"), "approve")
    w.clock.advance(timedelta(hours=26))
    ruled = w.walk(w.case(w.order(), "refund_only", reason="damaged"), "reject", "escalate")
    body = {"outcome": "refund", "liable_party": "merchant", "amount": None, "rationale": "依据双方证据"}
    _do(w, rulings.rule, AGENT, ruled.dispute_id, body)
    w.order("cod", upto="delivered")
    kept = _rows(w)
    assert kept["case_marks"] and kept["order_hours"] and len(kept["case_hours"]) == 2
    with runtime.engine.begin() as conn:
        hourly_figures.rebuild(conn)
    assert _rows(w) == kept
