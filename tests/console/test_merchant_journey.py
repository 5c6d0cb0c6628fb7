"""The merchant's journeys in Chromium: a return approved from the queue to the shop's book address,
shipped by the buyer and confirmed in the console until the refund shows; a partial refund offered
in the console and accepted by the buyer; a lost ruling appealed in the console."""

from __future__ import annotations

import pytest

from api_builders import feed_order, file_case
from console_client import sign_in

pytestmark = pytest.mark.browser

BOOK = [
    {"id": "hz-1", "name": "陈师傅", "phone": "0571-87001234", "address": "浙江省杭州市西湖区龙井路 18 号"},
    {"id": "sh-2", "name": "周店长", "phone": "021-52006677", "address": "上海市静安区南京西路 1266 号"},
]


def _shop(api):
    shop = {"name": "西湖茶庄", "timezone": "Asia/Shanghai", "return_addresses": BOOK}
    assert api.as_("integration", "marketplace").put("/v1/merchants/m-1", json=shop).status_code == 200
    assert api.as_("integration", "marketplace").put("/v1/buyers/b-1", json={"display_name": "张伟"}).status_code == 200


def _case(api, browser_page, url):
    browser_page.goto(url)
    return browser_page.locator("h1 .status").inner_text()


def test_a_return_approved_from_the_queue_is_confirmed_in_the_console_and_refunded(api, browser_page):
    _shop(api)
    feed_order(api)
    case = file_case(api)
    page = browser_page
    sign_in(page, api, "merchant", merchant_id="m-1")
    page.goto(f"{api.base_url}/console/after-sales")
    assert page.get_by_role("heading", level=1).inner_text() == "售后单管理"
    row = page.locator(f"tr[data-case='{case['id']}']")
    assert "张伟" in row.inner_text() and row.locator("time.countdown").count() == 1
    page.get_by_label("选择 张伟 ¥198.00").check()
    page.get_by_role("button", name="批量同意").click()
    page.wait_for_load_state()
    assert page.locator(".notice.ok").inner_text() == "已同意 1 件。"
    approved = api.as_("agent").get(f"/v1/after-sales/{case['id']}").json()
    assert approved["status"] == "awaiting_return" and approved["return_address_id"] == "hz-1"

    shipped = api.as_("buyer", "b-1").post(
        f"/v1/after-sales/{case['id']}/ship-return", json={"carrier": "SF", "tracking_number": "SF1001"}
    )
    assert shipped.status_code == 200, shipped.text
    page.get_by_label("状态").select_option("return_shipped")
    page.get_by_role("button", name="筛选").click()
    page.get_by_role("link", name="退货退款 · 质量问题").click()
    assert "陈师傅 0571-87001234" in page.locator(".facts").inner_text()
    page.locator("form[data-action=confirm_receipt]").get_by_role("button", name="确认收货").click()
    page.wait_for_load_state()
    assert page.locator("h1 .status").inner_text() == "退款成功"
    refunds = api.as_("agent").get("/v1/refunds", params={"after_sale_id": case["id"]}).json()["items"]
    assert [r["amount"] for r in refunds] == [approved["amount"]]


def test_an_offer_made_in_the_console_and_a_lost_ruling_appealed_there(api, browser_page):
    _shop(api)
    feed_order(api, "o-1")
    feed_order(api, "o-2")
    offered, refused = file_case(api, "o-1"), file_case(api, "o-2")
    page = browser_page
    sign_in(page, api, "merchant", merchant_id="m-1")

    page.goto(f"{api.base_url}/console/after-sales/{offered['id']}")
    form = page.locator("form[data-action=offer]")
    form.get_by_label("协商退款金额").fill("50.00")
    form.get_by_role("button", name="协商部分退款").click()
    page.wait_for_load_state()
    assert page.locator("h1 .status").inner_text() == "待买家确认方案"
    assert api.as_("buyer", "b-1").post(f"/v1/after-sales/{offered['id']}/accept-offer").status_code == 200
    page.reload()
    assert page.locator("h1 .status").inner_text() == "退款成功"
    assert "¥50.00" in page.locator(".facts").inner_text()

    shop = api.as_("merchant", merchant_id="m-1")
    assert shop.post(f"/v1/after-sales/{refused['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{refused['id']}/escalate", json={"statement": "茶叶确实受潮"})
    dispute_id = r.json()["dispute_id"]
    ruling = {"outcome": "refund", "liable_party": "merchant", "rationale": "开箱视频显示受潮"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=ruling).status_code == 200
    page.goto(f"{api.base_url}/console/after-sales/{refused['id']}")
    ruling_panel = page.locator("section.ruling")
    assert "开箱视频显示受潮" in ruling_panel.inner_text()
    appeal = ruling_panel.locator("form[data-action=appeal]")
    appeal.get_by_label("申诉理由").fill("买家寄回的商品已被调包")
    appeal.get_by_role("button", name="申诉").click()
    page.wait_for_load_state()
    assert page.locator(".notice.ok").inner_text() == "申诉 ✓"
    assert "等待平台处理" in page.locator("section.ruling").inner_text()
    assert page.locator("form[data-action=appeal]").count() == 0
    appeals = api.as_("agent").get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]
    assert [(a["appellant_role"], a["status"]) for a in appeals] == [("merchant", "pending")]
