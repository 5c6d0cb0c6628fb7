"""The buyer's journeys in Chromium: a return of one of two items with a photo, filed from the
order page, shipped back from the case page, refunded on the order page; a partial offer
accepted; and the buyer's pages on a phone without horizontal scrolling. The merchant's side is
driven through the API here (its console has journeys of its own)."""

from __future__ import annotations

import pytest

from api_builders import feed_order, file_case
from console_client import sign_in
from media_samples import PNG

pytestmark = pytest.mark.browser

TEA = {"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 1, "unit_price": 9900}
CUPS = {"sku": "cup", "title": "青瓷茶杯", "quantity": 2, "unit_price": 3000}
BOOK = [{"id": "hz", "name": "售后部", "phone": "0571-88888888", "address": "浙江省杭州市西湖区龙井路 18 号"}]
PHONE = {"width": 375, "height": 740}


def _market(api, order_id="o-1001"):
    market = api.as_("integration", "marketplace")
    r = market.put("/v1/merchants/m-1", json={"name": "龙井茶庄", "return_addresses": BOOK})
    assert r.status_code == 200, r.text
    return feed_order(api, order_id, items=[TEA, CUPS])


def test_a_buyer_returns_one_of_two_items_with_a_photo_and_the_refund_shows_on_the_order(api, browser_page):
    _market(api)
    page, merchant = browser_page, api.as_("merchant", merchant_id="m-1")
    sign_in(page, api, "buyer", "b-1")
    page.goto(f"{api.base_url}/console/")
    page.get_by_role("link", name="龙井茶庄").click()
    form = page.locator("#file-form")
    form.get_by_label("西湖龙井 250g").fill("1")
    assert form.get_by_label("青瓷茶杯").input_value() == "0"
    form.get_by_label("售后类型").select_option(label="退货退款")
    form.get_by_label("原因").select_option(label="质量问题")
    form.get_by_label("描述").fill("茶叶受潮结块")
    form.get_by_label("图片").set_input_files({"name": "tea.png", "mimeType": "image/png", "buffer": PNG})
    form.locator("output img[alt='tea.png']").wait_for()  # the preview, before anything is sent
    form.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/console/after-sales/*")

    assert page.locator(".notice.ok").inner_text() == "您的申请已提交给商家。"
    assert page.locator("h1 .status").inner_text() == "待商家处理"
    assert "西湖龙井 250g × 1" in page.locator(".facts").inner_text()
    assert "青瓷茶杯" not in page.locator(".facts").inner_text()
    assert page.locator(".files img[alt='tea.png']").evaluate("img => img.complete && img.naturalWidth > 0")
    case_id = page.url.rsplit("/", 1)[1]

    r = merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address_id": "hz"})
    assert r.status_code == 200, r.text
    page.reload()
    assert page.locator("h1 .status").inner_text() == "待买家退货"
    ship = page.locator("form[data-action=ship_return]")
    ship.get_by_label("承运商").fill("SF")
    ship.get_by_label("运单号").fill("SF1234567890")
    ship.get_by_role("button", name="寄回商品").click()
    page.wait_for_load_state()
    assert page.locator("h1 .status").inner_text() == "买家已退货"
    assert "SF SF1234567890" in page.locator(".facts").inner_text()

    r = merchant.post(f"/v1/after-sales/{case_id}/confirm-receipt")
    assert r.status_code == 200, r.text
    page.get_by_role("link", name="返回订单").click()
    refunds = page.locator(".refunds")
    assert "¥99.00" in refunds.inner_text()
    assert "¥99.00" in page.locator(".facts .refunded").inner_text()
    # The tea is settled; the two cups may still be claimed.
    items = page.locator(".card.item")
    assert "此商品目前不能再申请售后" in items.nth(0).inner_text()
    assert "还可申请 2 件" in items.nth(1).inner_text()


def test_a_buyer_accepts_a_partial_offer(api, browser_page):
    _market(api)
    case = file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 2}])
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/offer", json={"amount": 2500, "note": "杯子可以留着用"}
    )
    assert r.status_code == 200, r.text
    page = browser_page
    sign_in(page, api, "buyer", "b-1")
    page.goto(f"{api.base_url}/console/after-sales/{case['id']}")
    offer = page.locator(".offer")
    assert "商家提出退款 ¥25.00" in offer.inner_text() and "杯子可以留着用" in offer.inner_text()
    assert page.locator("form[data-action=decline_offer]").count() == 1
    page.locator("form[data-action=accept_offer]").get_by_role("button", name="接受协商方案").click()
    page.wait_for_load_state()
    assert page.locator(".notice.ok").inner_text() == "接受协商方案 ✓"
    assert page.locator("h1 .status").inner_text() == "退款成功"
    assert page.locator(".offer").count() == 0
    page.get_by_role("link", name="返回订单").click()
    assert "¥25.00" in page.locator(".refunds").inner_text()


def test_the_buyer_s_pages_fit_a_phone(api, chromium):
    _market(api)
    # A photo with a long name, listed on the escalation form of a refused request.
    photo = api.as_("buyer", "b-1").post(
        "/v1/evidence",
        files={"file": ("IMG_20261124_100000_" + "x" * 60 + ".png", PNG, "image/png")},
        data={"kind": "product_media"},
    )
    assert photo.status_code == 201, photo.text
    case = file_case(
        api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}], evidence=[photo.json()["id"]]
    )
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200, r.text
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, api, "buyer", "b-1")
        for path in ("/console/orders", "/console/orders/o-1001", f"/console/after-sales/{case['id']}"):
            # (the case page shows the escalation form, which lists the case's files to cite)
            page.goto(f"{api.base_url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
    finally:
        context.close()
