"""The after-sales figures (services/reports.py) on a small known dataset, on both databases:
exact counts, the medians, the rates, the days, and who may read them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import report_world
from aftersales.domain.errors import NotFound, ValidationFailed
from aftersales.services import reports
from aftersales.services.context import Actor
from aftersales.web.i18n import timezone

SHOP = Actor("merchant", "m-1-staff", merchant_id="m-1")
OTHER_SHOP = Actor("merchant", "m-2-staff", merchant_id="m-2")
AGENT, BUYER = Actor("agent", "agent-1"), Actor("buyer", "b-1")
H = 3600.0


@pytest.fixture
def world(runtime, clock):
    report_world.load(runtime.engine, clock.now())
    return runtime


def _metrics(runtime, actor, days):
    with runtime.uow(read_only=True) as uow:
        return reports.merchant_metrics(uow, actor, reports.period(days, runtime.env.clock.now()))


def test_a_shops_metrics_by_reason_count_its_requests_refunds_answers_and_lost_disputes(world):
    m = _metrics(world, SHOP, "30")
    damaged, not_received = m.by_reason
    assert (damaged.reason, damaged.requests, damaged.refunded_requests, damaged.refunded_amount) == (
        "damaged",
        2,
        2,
        8000,
    )
    assert damaged.median_answer_seconds == pytest.approx(2 * H)  # (1 h + 3 h) / 2: the first event, a message
    assert damaged.disputes_lost == 0
    assert (not_received.requests, not_received.refunded_requests, not_received.refunded_amount) == (2, 1, 10000)
    assert not_received.answered == 1 and not_received.median_answer_seconds == pytest.approx(4 * H)
    assert not_received.disputes_lost == 1
    total = m.total
    assert (total.requests, total.refunded_requests, total.refunded_amount, total.disputes_lost) == (4, 3, 18000, 1)
    assert total.median_answer_seconds == pytest.approx(3 * H)  # of 1 h, 3 h, 4 h
    assert m.paid_amount == 40000 and m.currency == "CNY"
    assert total.amount_rate(m.paid_amount) == pytest.approx(0.45) and total.request_rate() == pytest.approx(0.75)
    assert damaged.amount_rate(m.paid_amount) == pytest.approx(0.2)


def test_the_period_bounds_every_figure_and_is_a_closed_set(world):
    week = _metrics(world, SHOP, "7")
    assert [(f.reason, f.requests) for f in week.by_reason] == [("not_received", 2)]
    assert week.paid_amount == 20000 and week.period.days == 7
    assert _metrics(world, SHOP, None).period.days == reports.DEFAULT_PERIOD
    for bad in ("13", "abc", "-7", "7.0", "1e2"):
        with pytest.raises(ValidationFailed):
            reports.period(bad, world.env.clock.now())


def test_a_shop_sees_only_its_own_and_no_one_else_reads_shop_metrics(world):
    other = _metrics(world, OTHER_SHOP, "30")
    assert [(f.reason, f.requests, f.refunded_amount) for f in other.by_reason] == [("damaged", 1, 2000)]
    assert other.total.median_answer_seconds == pytest.approx(10 * H) and other.total.disputes_lost == 0
    for actor in (AGENT, BUYER, Actor("merchant", "ghost")):
        with pytest.raises(NotFound):
            _metrics(world, actor, "30")


def test_the_dashboard_counts_days_in_the_viewers_zone_sla_refunds_and_the_top_shops(world):
    now = world.env.clock.now()
    with world.uow(read_only=True) as uow:
        board = reports.dashboard(uow, AGENT, reports.period("30", now), timezone("Asia/Shanghai"))
    days = dict(board.volume)
    assert len(board.volume) == 31 and sum(days.values()) == 5
    # c4 was filed at 22:00 UTC on 22 November: the 23rd in Shanghai.
    assert days[date(2026, 11, 23)] == 1 and days[date(2026, 11, 22)] == 0
    assert [d.day for d, n in board.volume if n] == [14, 15, 19, 21, 23]
    assert board.sla == reports.Sla(ruled_on_time=1, breached=2, pending=1, complaints_on_time=1, complaints_breached=1)
    m = board.metrics
    assert [(f.reason, f.requests, f.refunded_amount) for f in m.by_reason] == [
        ("damaged", 3, 10000),
        ("not_received", 2, 10000),
    ]
    assert m.paid_amount == 50000
    assert [(s.merchant_id, s.name, s.disputes, s.lost) for s in board.top_merchants] == [
        ("m-1", "茶叶铺", 3, 1),
        ("m-2", None, 1, 0),
    ]
    with world.uow(read_only=True) as uow:
        utc = reports.dashboard(uow, AGENT, reports.period("30", now), timezone("UTC"))
    assert dict(utc.volume)[date(2026, 11, 22)] == 1 and dict(utc.volume)[date(2026, 11, 23)] == 0


def test_only_the_platform_reads_the_dashboard(world):
    with world.uow(read_only=True) as uow:
        p = reports.period("7", world.env.clock.now())
        for actor in (SHOP, BUYER, Actor("integration", "marketplace")):
            with pytest.raises(NotFound):
                reports.dashboard(uow, actor, p, timezone("UTC"))
        assert reports.dashboard(uow, Actor("admin", "root"), p, timezone("UTC")).period.days == 7


def test_no_data_gives_zeros_and_no_rates(runtime):
    with runtime.uow(read_only=True) as uow:
        p = reports.period("90", runtime.env.clock.now())
        m = reports.merchant_metrics(uow, SHOP, p)
        board = reports.dashboard(uow, AGENT, p, timezone("UTC"))
    assert m.by_reason == [] and m.total.requests == 0 and m.total.median_answer_seconds is None
    assert m.total.request_rate() is None and m.total.amount_rate(m.paid_amount) is None
    assert sum(n for _, n in board.volume) == 0 and board.top_merchants == [] and board.sla.breached == 0
    assert board.volume[-1][0] - board.volume[0][0] == timedelta(days=90)
