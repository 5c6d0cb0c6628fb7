"""The dashboard in Chromium: the charts draw inline with no script refused by the CSP, and the
period links switch the figures."""

from __future__ import annotations

import pytest

import report_world
from console_client import sign_in

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_its_charts_in_the_browser(api, browser_page, tmp_path):
    report_world.load(api.runtime.engine, api.clock.now())
    refused: list[str] = []
    browser_page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(browser_page, api, "agent")
    browser_page.get_by_role("link", name="数据看板").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_role("heading", name="数据看板", level=1).is_visible()
    chart = browser_page.get_by_role("img", name="每日售后申请量")
    assert chart.is_visible() and chart.bounding_box()["width"] > 200
    assert browser_page.locator("figure svg").count() == 4
    assert browser_page.get_by_role("row", name="茶叶铺 3 1").is_visible()  # the shop by its name
    (tmp_path / "dashboard-zh.png").write_bytes(
        browser_page.screenshot(full_page=True)
    )  # (a path= would leave a writer thread running)
    browser_page.get_by_role("link", name="近 7 天").click()
    browser_page.wait_for_load_state()
    assert browser_page.locator("figure svg").first.locator("circle.dot").count() == 8
    assert refused == []
