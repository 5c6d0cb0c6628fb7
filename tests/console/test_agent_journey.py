"""The platform's journey in Chromium: a request the merchant refused and the buyer escalated (by
the API) is taken and ruled by an agent in the console (full refund, the merchant liable, with a
rationale); the merchant appeals (by the API) and another agent decides it in the console; the
ruling shows on the case page."""

from __future__ import annotations

import pytest

from aftersales.domain.labels import APPEAL_DECISION, DISPUTE_STATUS
from api_builders import feed_order, file_case
from console_client import sign_in

pytestmark = pytest.mark.browser

RATIONALE = "开箱视频与质检报告证明茶叶受潮, 商家责任"


def _escalated(api):
    admin = api.as_("admin", "admin-1")
    for agent_id, name in (("agent-1", "客服小周"), ("agent-2", "仲裁员老陈")):
        assert admin.put(f"/v1/agents/{agent_id}", json={"name": name, "capacity": 20}).status_code == 200
    feed_order(api)
    case = file_case(api)
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "茶叶受潮结块"})
    assert r.status_code == 200, r.text
    return case["id"], r.json()["dispute_id"]


def test_an_escalated_request_is_ruled_appealed_and_decided_by_another_agent(api, browser_page):
    page = browser_page
    case_id, dispute_id = _escalated(api)

    sign_in(page, api, "agent", "agent-1")  # lands on the desk's queue
    assert page.url.endswith("/console/disputes")
    row = page.locator(f"tr[data-dispute='{dispute_id}']")
    row.get_by_role("button", name="由我处理").click()
    page.wait_for_load_state()
    assert "客服小周" in page.locator(f"tr[data-dispute='{dispute_id}']").inner_text()
    page.locator(f"tr[data-dispute='{dispute_id}'] a").first.click()
    page.wait_for_load_state()
    assert "茶叶受潮结块" in page.locator("section:has(#side-buyer)").inner_text()

    ruling = page.locator("form[data-action=rule]")
    ruling.get_by_label("裁决结果").select_option(label="全额退款")
    ruling.get_by_label("责任方").select_option(label="商家")
    ruling.get_by_label("退款金额").fill("198.00")
    ruling.get_by_label("判责理由").fill(RATIONALE)
    ruling.get_by_role("button", name="判责").click()
    page.wait_for_load_state()
    assert page.locator(".notice.ok").inner_text() == "判责 ✓"
    assert page.locator("h1 .status").inner_text() == DISPUTE_STATUS["ruled"].zh
    assert RATIONALE in page.locator("#ruling-h + p + p").inner_text()

    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "买家保存不当"}
    )
    assert r.status_code == 201, r.text
    page.reload()
    assert page.locator("form[data-action=decide]").count() == 0  # not for the agent who ruled

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    sign_in(page, api, "agent", "agent-2")
    page.get_by_role("link", name="申诉").first.click()
    page.wait_for_load_state()
    page.get_by_role("link", name="买家保存不当").click()
    page.wait_for_load_state()
    decide = page.locator("form[data-action=decide]")
    decide.get_by_label("申诉结果").select_option(label=APPEAL_DECISION["uphold"].zh)
    decide.get_by_label("理由").fill("证据充分, 维持原判")
    decide.get_by_role("button", name="处理申诉").click()
    page.wait_for_load_state()
    assert page.locator(".notice.ok").inner_text() == "处理申诉 ✓"
    assert page.locator("#appeals .status").inner_text() == "维持原判"
    assert page.locator("h1 .status").inner_text() == DISPUTE_STATUS["final"].zh

    page.get_by_role("link", name="退货退款 · 退款成功").click()  # the request, from the workspace
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/after-sales/{case_id}")
    assert page.locator("h1 .status").inner_text() == "退款成功"
    assert "平台判定退款" in page.locator(".timeline").inner_text()
    assert page.get_by_role("link", name="打开纠纷处理页").count() == 1
    ruling = page.locator(".ruling").inner_text()
    assert "全额退款" in ruling and "商家" in ruling and "¥198.00" in ruling
    assert RATIONALE in page.locator("section.agent-links").inner_text()
