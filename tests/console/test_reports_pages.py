"""The metrics and dashboard pages over real HTTP: who may open them, the charts inlined as SVG
that parses with one bar or slice per figure and no script, the figures in tables, labels and
money in the viewer's language, the period's closed set, and the pages with no data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

import report_world
from aftersales.domain.labels import CASE_REASON
from aftersales.store import tables as t
from aftersales.web.security_headers import CONTENT_SECURITY_POLICY
from console_client import Console

SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def _charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in SVG.findall(html)]


def _classed(svg: ET.Element, name: str) -> list[ET.Element]:
    """The drawn shapes of a series: pygal's bars are <rect class="rect">, slices <path class="slice">,
    a line's points <circle class="dot">."""
    shape = {"rect": "rect", "slice": "path", "dot": "circle"}[name]
    return [e for e in svg.iter(f"{{http://www.w3.org/2000/svg}}{shape}") if name in (e.get("class") or "").split()]


@pytest.fixture
def world(api):
    report_world.load(api.runtime.engine, api.clock.now())
    return api


def test_a_shop_reads_its_own_metrics_with_charts_and_tables(world):
    page = Console(world, "merchant", merchant_id="m-1").get("/console/merchant/metrics?days=30")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    html = page.text
    requests, refunded = _charts(html)
    assert requests.get("role") == "img" and requests.get("aria-label") == "按原因的售后申请"
    assert len(_classed(requests, "rect")) == 2 and len(_classed(refunded, "rect")) == 2  # two reasons
    assert "<script" not in "".join(SVG.findall(html))  # pygal's tooltip script is off
    assert html.count("<figure") == 2 and html.count("<figcaption>") == 2
    damaged, not_received = CASE_REASON["damaged"].zh, CASE_REASON["not_received"].zh
    assert f'<tr><th scope="row">{damaged}</th><td>2</td></tr>' in html  # reasons as labels, in the chart's table
    assert "¥180.00" in html and "¥400.00" in html and "45.0%" in html and "75.0%" in html
    assert "3小时" in html  # the median time to answer
    assert f'<tr><th scope="row">{not_received}</th><td>2</td></tr>' in html
    assert "<dt>售后申请</dt><dd>4</dd>" in html  # the other shop's case is not counted


def test_english_labels_and_money(world):
    html = Console(world, "merchant", merchant_id="m-1").get("/console/merchant/metrics?lang=en").text
    assert "Requests by reason" in html and "Not received" in html and "Damaged" in html
    assert "CN¥180.00" in html and "3 hours" in html


def test_another_shop_sees_only_its_figures(world):
    html = Console(world, "merchant", merchant_id="m-2").get("/console/merchant/metrics").text
    requests, _ = _charts(html)
    assert len(_classed(requests, "rect")) == 1 and "<dt>售后申请</dt><dd>1</dd>" in html and "¥180.00" not in html


def test_the_dashboard_draws_volume_sla_refund_rates_and_top_shops(world):
    with world.runtime.engine.begin() as conn:  # a shop's name as the marketplace typed it, markup and all
        now = world.clock.now()
        conn.execute(
            sa.insert(t.merchants).values(id="m-2", name="<b>果园</b>", timezone="UTC", created_at=now, updated_at=now)
        )
    page = Console(world, "agent").get("/console/dashboard?days=30")
    assert page.status_code == 200
    volume, sla, rates, shops = _charts(page.text)
    assert len(_classed(volume, "dot")) == 31  # a point per day, empty days included
    assert len(_classed(sla, "slice")) == 2  # ruled within the SLA (1), breached (2)
    assert len(_classed(rates, "rect")) == 2 and len(_classed(shops, "rect")) == 2
    html = page.text
    assert "茶叶铺" in html and "20.0%" in html  # the shop by its name; ¥100 refunded of ¥500 paid per reason
    assert "<script" not in "".join(SVG.findall(html))
    assert "<b>果园</b>" not in html and "&lt;b&gt;果园&lt;/b&gt;" in html  # names are text, in the chart too
    english = Console(world, "agent").get("/console/dashboard?lang=en").text
    assert "Requests filed per day" in english and "Merchants with most disputes" in english and "Nov 23" in english


def test_buyers_and_the_wrong_role_get_the_not_found_page(world):
    buyer = Console(world, "buyer", "b-1")
    for path in ("/console/merchant/metrics", "/console/dashboard"):
        r = buyer.get(path)
        assert r.status_code == 404 and "<svg" not in r.text, path
    assert Console(world, "merchant", merchant_id="m-1").get("/console/dashboard").status_code == 404
    assert Console(world, "agent").get("/console/merchant/metrics").status_code == 404


def test_a_period_outside_the_offered_set_is_a_clear_400(world):
    person = Console(world, "agent")
    for bad in ("13", "abc", "0", "-30"):
        assert person.get(f"/console/dashboard?days={bad}").status_code == 400, bad
    week = person.get("/console/dashboard?days=7")
    assert week.status_code == 200 and 'href="?days=7" aria-current="page"' in week.text
    assert len(_classed(_charts(week.text)[0], "dot")) == 8


def test_the_pages_render_with_no_data(api):
    for role, path in (("merchant", "/console/merchant/metrics"), ("agent", "/console/dashboard?days=90")):
        page = Console(api, role).get(path)
        assert page.status_code == 200, page.text
        assert all(svg.get("role") == "img" for svg in _charts(page.text)), path
        assert "本期没有" in page.text or "无数据" in page.text
