"""The buyer's pages over real HTTP: what they show (names, money, labels, not ids), what the
forms do, tenancy (another buyer's order or case is the same 404 as a missing one) and bad input
(a clear message on the form, typed values kept, nothing filed)."""

from __future__ import annotations

import re

from api_builders import db_state, feed_order, file_case
from console_client import CSRF, Console
from media_samples import PNG

TEA = {"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 1, "unit_price": 9900}
CUPS = {"sku": "cup", "title": "青瓷茶杯", "quantity": 2, "unit_price": 3000}
SHOP = "龙井茶庄"


def _market(api, order_id="o-1001", upto="delivered", **over):
    """A shop and a buyer with names, and an order of tea and two cups (¥169.00 with shipping)."""
    market = api.as_("integration", "marketplace")
    assert market.put("/v1/merchants/m-1", json={"name": SHOP}).status_code == 200
    assert market.put("/v1/buyers/b-1", json={"display_name": "小林"}).status_code == 200
    return feed_order(api, order_id, upto=upto, items=[TEA, CUPS], **over)


def _form(person: Console, path: str) -> str:
    found = CSRF.search(person.get(path).text)
    assert found
    return found.group(1)


def _file(person: Console, order_id="o-1001", files=None, **fields):
    data = {"csrf": _form(person, f"/console/orders/{order_id}"), "type": "refund_only", "reason": "damaged", **fields}
    return person.http.post(f"/console/orders/{order_id}/after-sales", data=data, files=files)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_my_orders_name_the_shop_and_show_items_money_status_and_open_after_sales(api):
    _market(api, "o-1001")
    _market(api, "o-1002", upto="stocking")
    file_case(api, "o-1001", type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}])
    buyer = Console(api, "buyer", "b-1")
    r = buyer.get("/console/orders")
    assert r.status_code == 200
    text = _text(r.text)
    assert text.count(SHOP) >= 2 and "m-1" not in text
    assert "西湖龙井 250g × 1" in text and "青瓷茶杯 × 2" in text
    assert "¥169.00" in text  # 99 + 2 × 30 + 10 shipping
    assert "已签收" in text and "备货中" in text
    assert text.index("备货中") < text.index("已签收")  # newest first
    assert text.count("售后处理中") == 1
    assert buyer.get("/console/").headers["location"] == "/console/orders"


def test_my_orders_page_by_keyset(api):
    for n in range(21):
        feed_order(api, f"o-{2000 + n}", upto="awaiting_payment")
    buyer = Console(api, "buyer", "b-1")
    first = buyer.get("/console/orders").text
    assert "/console/orders/o-2020" in first and "/console/orders/o-2000" not in first
    more = re.search(r'href="\?cursor=([^"]+)" rel="next"', first)
    assert more
    second = buyer.get("/console/orders", params={"cursor": more.group(1)}).text
    assert "/console/orders/o-2000" in second and "/console/orders/o-2020" not in second
    assert 'rel="next"' not in second
    assert buyer.get("/console/orders", params={"cursor": "not-a-cursor"}).status_code == 400
    unpaid = buyer.get("/console/orders/o-2000")
    assert unpaid.status_code == 200 and "待付款" in unpaid.text and 'id="file-form"' not in unpaid.text


def test_the_order_page_shows_what_each_item_may_still_get(api):
    _market(api)
    file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}])
    buyer = Console(api, "buyer", "b-1")
    r = buyer.get("/console/orders/o-1001")
    assert r.status_code == 200
    text = _text(r.text)
    assert SHOP in text and "已签收" in text and "¥169.00" in text
    assert "还可申请 1 件，最多退 ¥99.00" in text  # the tea, untouched
    assert "还可申请 1 件，最多退 ¥30.00" in text  # one cup is held by the open request
    assert "仅退款" in text and "退货退款" in text
    # The form offers only what is claimable: one of each, with the reasons' labels.
    assert re.search(r'name="quantity-0" min="0" max="1"', r.text) and re.search(
        r'name="quantity-1" min="0" max="1"', r.text
    )
    assert "商品损坏" in text and "七天无理由" in text
    assert "售后申请" in text and "待商家处理" in text  # the open request, linked


def test_the_order_page_reads_in_english(api):
    _market(api)
    buyer = Console(api, "buyer", "b-1")
    text = _text(buyer.get("/console/orders/o-1001", params={"lang": "en"}).text)
    assert "Can still claim 2, up to CN¥60.00 back" in text and "Return and refund" in text
    assert "Damaged" in text and "Refundable on this order: CN¥159.00" in text  # shipping is not refundable


def test_a_declined_offer_goes_back_to_the_shop(api):
    _market(api)
    case = file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 2}])
    offered = api.as_("merchant", merchant_id="m-1").post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 1000})
    assert offered.status_code == 200
    buyer = Console(api, "buyer", "b-1")
    page = _text(buyer.get(f"/console/after-sales/{case['id']}").text)
    assert "商家提出退款 ¥10.00" in page and "拒绝协商方案" in page
    r = buyer.act("after_sale", case["id"], "decline_offer", version=offered.json()["version"])
    assert r.status_code == 303
    shown = buyer.get(f"/console/after-sales/{case['id']}").text
    assert "拒绝协商方案 ✓" in shown and "待商家处理" in shown and "商家提出退款" not in shown


def test_a_request_with_a_photo_is_filed_from_the_order_page(api):
    _market(api)
    buyer = Console(api, "buyer", "b-1")
    r = _file(
        buyer,
        files={"photos": ("broken.png", PNG, "image/png")},
        **{"quantity-1": "1", "amount": "25.50", "description": "一只杯子碎了"},
    )
    assert r.status_code == 303, r.text
    case_id = r.headers["location"].rsplit("/", 1)[1]
    case = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}").json()
    assert case["items"] == [{"sku": "cup", "title": "青瓷茶杯", "quantity": 1, "unit_price": 3000}]
    assert case["amount"] == 2550 and case["type"] == "refund_only" and case["description"] == "一只杯子碎了"
    assert len(case["evidence"]) == 1
    page = buyer.get(r.headers["location"])
    assert "您的申请已提交给商家" in page.text and "¥25.50" in page.text and "broken.png" in page.text


def test_bad_input_comes_back_on_the_form_with_its_values_and_files_nothing(api):
    _market(api)
    buyer = Console(api, "buyer", "b-1")
    before = db_state(api.runtime)
    cases = [
        ({"quantity-1": "3"}, "“青瓷茶杯”只能再申请 2 件。"),
        ({"quantity-1": "1", "amount": "31"}, "金额超过了这些商品最多可退的 ¥30.00。"),
        ({"quantity-1": "1", "amount": "三十"}, "请以元为单位填写大于零的金额"),
        ({"quantity-1": "1", "amount": "0"}, "请以元为单位填写大于零的金额"),
        ({"quantity-1": "1", "amount": "1.234"}, "请以元为单位填写大于零的金额"),
        ({"quantity-1": "x"}, "“青瓷茶杯”的数量须为整数。"),
        ({}, "请选择至少一件商品及数量。"),
        ({"quantity-1": "1", "reason": "bored"}, "请选择原因。"),
    ]
    for fields, message in cases:
        r = _file(buyer, files={"photos": ("p.png", PNG, "image/png")}, description="保留我写的字", **fields)
        assert r.status_code == 422, (fields, r.status_code)
        assert message in _text(r.text), (fields, _text(r.text)[-800:])
        assert "保留我写的字" in r.text and "照片未保留" in r.text
        for name, value in fields.items():  # what was typed is kept (a select keeps its options)
            assert name == "reason" or re.search(f'name="{name}"[^>]*value="{re.escape(value)}"', r.text), name
    assert db_state(api.runtime) == before
    no_token = buyer.http.post("/console/orders/o-1001/after-sales", data={"quantity-1": "1", "type": "refund_only"})
    assert no_token.status_code == 403
    assert db_state(api.runtime) == before


def test_price_protection_is_asked_with_the_lower_price_seen(api):
    _market(api)
    buyer = Console(api, "buyer", "b-1")
    before = db_state(api.runtime)
    two = _file(
        buyer, type="price_protection", reason="price_drop", new_price="80", **{"quantity-0": "1", "quantity-1": "1"}
    )
    assert two.status_code == 422 and "价保只能针对一件商品" in _text(two.text)
    bare = _file(buyer, type="price_protection", reason="price_drop", **{"quantity-0": "1"})
    assert bare.status_code == 422 and "请填写您看到的更低价格" in _text(bare.text)
    assert db_state(api.runtime) == before
    r = _file(
        buyer,
        type="price_protection",
        reason="price_drop",
        new_price="80.00",
        files={"photos": ("price.png", PNG, "image/png")},
        **{"quantity-0": "1"},
    )
    assert r.status_code == 303, _text(r.text)[-500:]
    case = api.as_("buyer", "b-1").get(f"/v1/after-sales/{r.headers['location'].rsplit('/', 1)[1]}").json()
    assert case["type"] == "price_protection" and case["amount"] == 1900  # 99.00 paid, 80.00 seen


def test_another_buyer_s_order_and_case_are_not_found(api):
    _market(api)
    case = file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}])
    stranger = Console(api, "buyer", "b-2")
    before = db_state(api.runtime)
    for path in (
        "/console/orders/o-1001",
        "/console/orders/o-1001/complain",
        "/console/orders/o-1001/review",
        "/console/orders/nope",
        f"/console/after-sales/{case['id']}",
    ):
        r = stranger.get(path)
        assert r.status_code == 404 and "未找到" in r.text, path
    csrf = stranger.csrf("/console/orders")
    posts = {
        "/console/orders/o-1001/after-sales": {"quantity-0": "1", "type": "refund_only", "reason": "damaged"},
        "/console/orders/o-1001/complain": {"category": "service_attitude", "description": "态度差"},
        "/console/orders/o-1001/review": {"rating": "1"},
        f"/console/after-sales/{case['id']}/evidence": {"body": "看图"},
    }
    for path, data in posts.items():
        r = stranger.http.post(path, data={"csrf": csrf, **data}, files={"photos": ("p.png", PNG, "image/png")})
        assert r.status_code == 404, path
    assert db_state(api.runtime) == before
    assert "o-1001" not in stranger.get("/console/orders").text
    # The buyer's pages are the buyer's: a shop finds nothing there.
    assert Console(api, "merchant", merchant_id="m-1").get("/console/orders").status_code == 404


def test_a_complaint_about_the_shop(api):
    _market(api)
    buyer = Console(api, "buyer", "b-1")
    page = buyer.get("/console/orders/o-1001/complain")
    assert page.status_code == 200 and SHOP in page.text and "服务态度" in page.text and "诱导好评" in page.text
    csrf = _form(buyer, "/console/orders/o-1001/complain")
    before = db_state(api.runtime)
    bad = buyer.http.post("/console/orders/o-1001/complain", data={"csrf": csrf, "description": "客服骂人"})
    assert bad.status_code == 422 and "请选择投诉类型。" in bad.text and "客服骂人" in bad.text
    assert db_state(api.runtime) == before
    r = buyer.http.post(
        "/console/orders/o-1001/complain",
        data={"csrf": csrf, "category": "service_attitude", "description": "客服骂人"},
        files={"photos": ("chat.png", PNG, "image/png")},
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/orders/o-1001"
    assert "投诉已提交" in buyer.get("/console/orders/o-1001").text
    [complaint] = api.as_("buyer", "b-1").get("/v1/complaints").json()["items"]
    assert complaint["merchant_id"] == "m-1" and complaint["order_id"] == "o-1001"
    assert complaint["category"] == "service_attitude" and len(complaint["evidence"]) == 1


def test_a_completed_order_is_reviewed_once(api):
    _market(api, upto="completed")
    buyer = Console(api, "buyer", "b-1")
    assert "/console/orders/o-1001/review" in buyer.get("/console/orders/o-1001").text
    csrf = _form(buyer, "/console/orders/o-1001/review")
    bad = buyer.http.post("/console/orders/o-1001/review", data={"csrf": csrf, "rating": "", "text": "好茶"})
    assert bad.status_code == 422 and "请选择星级。" in bad.text and "好茶" in bad.text
    r = buyer.http.post("/console/orders/o-1001/review", data={"csrf": csrf, "rating": "5", "text": "好茶"})
    assert r.status_code == 303
    page = buyer.get("/console/orders/o-1001").text
    assert "感谢您的评价" in page and "您已评价此订单：5 星。" in page
    assert "/console/orders/o-1001/review" not in page
    again = buyer.http.post("/console/orders/o-1001/review", data={"csrf": csrf, "rating": "4"})
    assert again.status_code == 422 and "您已评价过此订单。" in again.text
    _market(api, "o-1002")  # delivered, not completed yet
    early = buyer.http.post("/console/orders/o-1002/review", data={"csrf": csrf, "rating": "4", "text": "先评"})
    assert early.status_code == 422 and "订单交易完成后才能评价。" in early.text and "先评" in early.text


def test_the_case_page_takes_more_evidence_from_the_buyer(api):
    _market(api)
    case = file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}])
    buyer = Console(api, "buyer", "b-1")
    url = f"/console/after-sales/{case['id']}"
    page = buyer.get(url).text
    assert 'data-action="add_evidence"' in page and "/console/orders/o-1001/complain" in page
    csrf = _form(buyer, url)
    missing = buyer.http.post(f"{url}/evidence", data={"csrf": csrf, "body": "碎片"})
    assert missing.status_code == 303 and "请至少选择一个文件。" in buyer.get(url).text
    r = buyer.http.post(
        f"{url}/evidence",
        data={"csrf": csrf, "body": "碎片特写", "kind": "product_media"},
        files={"photos": ("closeup.png", PNG, "image/png")},
    )
    assert r.status_code == 303
    shown = buyer.get(url).text
    assert "已添加凭证" in shown and "closeup.png" in shown and "碎片特写" in shown
    assert len(api.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}").json()["evidence"]) == 1


def test_a_denied_buyer_appeals_from_the_case_page(api):
    _market(api)
    case = file_case(api, type="refund_only", reason="damaged", items=[{"sku": "cup", "quantity": 1}])
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    buyer = Console(api, "buyer", "b-1")
    url = f"/console/after-sales/{case['id']}"
    assert 'data-action="escalate"' in buyer.get(url).text  # the generic form of the action
    r = buyer.act("after_sale", case["id"], "escalate", version=case["version"] + 1, statement="杯子确实碎了")
    assert r.status_code == 303
    dispute_id = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}").json()["dispute_id"]
    assert dispute_id
    page = buyer.get(url).text
    assert "平台介入" in page and 'data-action="submit_evidence"' in page
    dispute = api.as_("buyer", "b-1").get(f"/v1/disputes/{dispute_id}").json()
    r = buyer.act("dispute", dispute_id, "submit_evidence", version=dispute["version"], statement="碎片照片见附件")
    assert r.status_code == 303
    statements = api.as_("agent").get(f"/v1/disputes/{dispute_id}").json()["statements"]
    assert any(st.get("statement") == "碎片照片见附件" for st in statements), statements
    ruled = api.as_("agent", "agent-1").post(
        f"/v1/disputes/{dispute_id}/rule", json={"outcome": "deny", "liable_party": "buyer", "rationale": "证据不足"}
    )
    assert ruled.status_code == 200
    page = buyer.get(url).text
    assert "驳回" in page and "证据不足" in page and f'action="/console/disputes/{dispute_id}/appeals"' in page
    version = re.search(r'data-action="appeal">.*?name="version" value="(\d+)"', page, re.S)
    assert version
    csrf = _form(buyer, url)
    data = {"csrf": csrf, "version": version.group(1), "back": url, "grounds": "补充开箱视频"}
    r = buyer.http.post(
        f"/console/disputes/{dispute_id}/appeals", data=data, files={"evidence__upload": ("box.png", PNG, "image/png")}
    )
    assert r.status_code == 303 and r.headers["location"] == url
    assert "申诉 ✓" in buyer.get(url).text
    assert api.as_("buyer", "b-1").get(f"/v1/disputes/{dispute_id}").json()["status"] == "appealed"
    [appeal] = api.as_("buyer", "b-1").get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]
    assert appeal["grounds"] == "补充开箱视频" and len(appeal["evidence"]) == 1
    # A second post of the same form finds the dispute changed: told so, nothing filed twice.
    again = buyer.http.post(f"/console/disputes/{dispute_id}/appeals", data=data)
    assert again.status_code == 303
    assert len(api.as_("buyer", "b-1").get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]) == 1
