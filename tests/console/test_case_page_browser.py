"""The case page in Chromium: the merchant takes an action from its form, the buyer's open page
shows it without a reload, countdowns run, and the English page is English."""

from __future__ import annotations

import re

import pytest

from api_builders import feed_order, file_case
from console_client import sign_in

pytestmark = pytest.mark.browser


def test_an_approval_in_one_browser_shows_on_the_buyer_s_open_page(api, chromium):
    feed_order(api)
    case = file_case(api)
    url = f"{api.base_url}/console/after-sales/{case['id']}"
    buyer = chromium.new_context(locale="zh-CN")
    merchant = chromium.new_context(locale="zh-CN")
    try:
        buyer_page, merchant_page = buyer.new_page(), merchant.new_page()
        sign_in(buyer_page, api, "buyer", "b-1")
        buyer_page.goto(url)
        assert buyer_page.locator("h1 .status").inner_text() == "待商家处理"
        assert "商家如未在时限内处理，系统将自动同意本次申请" in buyer_page.content()
        # The server writes "2天"; the page's script keeps a running count from the server's clock.
        running = buyer_page.locator("time.countdown", has_text=re.compile(r"^1天23小时5\d分$"))
        running.first.wait_for(timeout=5000)

        sign_in(merchant_page, api, "merchant", merchant_id="m-1")
        merchant_page.goto(url)
        form = merchant_page.locator("form[data-action=approve]")
        form.get_by_label("退货地址", exact=True).fill("浙江省杭州市西湖区龙井路 18 号 售后部")
        form.get_by_role("button", name="同意").click()
        merchant_page.wait_for_load_state()
        assert merchant_page.locator(".notice.ok").inner_text() == "同意 ✓"
        assert merchant_page.locator("h1 .status").inner_text() == "待买家退货"

        # The buyer did nothing: the page refreshes its content by itself (data-live).
        buyer_page.locator("h1 .status", has_text="待买家退货").wait_for(timeout=15_000)
        assert buyer_page.locator("form[data-action=ship_return]").count() == 1
    finally:
        buyer.close()
        merchant.close()


def test_the_english_page_reads_in_english_and_keeps_the_choice(api, browser_page):
    feed_order(api)
    case = file_case(api)
    sign_in(browser_page, api, "buyer", "b-1")
    browser_page.goto(f"{api.base_url}/console/after-sales/{case['id']}?lang=en")
    assert browser_page.locator("h1 .status").inner_text() == "Awaiting the merchant"
    assert browser_page.locator("html").get_attribute("lang") == "en"
    browser_page.goto(f"{api.base_url}/console/after-sales/{case['id']}")  # the cookie keeps it
    assert "What happens next" in browser_page.content()
    assert re.search(r"CN¥\d", browser_page.locator(".money").inner_text())
