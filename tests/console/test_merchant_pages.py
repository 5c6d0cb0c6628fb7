"""The merchant's console over real HTTP: the queue by urgency (order, filters, paging, tenancy),
bulk approval with each case's own result, the case page's address book, appeal and quick
replies, the reply templates page, and violations and standing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from api_builders import feed_order, file_case
from console_client import Console
from media_samples import PDF, PNG

BOOK = [
    {"id": "hz-1", "name": "陈师傅", "phone": "0571-87001234", "address": "浙江省杭州市西湖区龙井路 18 号"},
    {"id": "sh-2", "name": "周店长", "phone": "021-52006677", "address": "上海市静安区南京西路 1266 号"},
]
ROW = re.compile(r'<tr data-case="([^"]+)"')
NEXT = re.compile(r'href="(/console/after-sales\?[^"]+)" rel="next"')


def _book(api, merchant_id="m-1", book=BOOK):
    shop = {"name": "西湖茶庄", "timezone": "Asia/Shanghai", "return_addresses": book}
    assert api.as_("integration", "marketplace").put(f"/v1/merchants/{merchant_id}", json=shop).status_code == 200


def _case(api, n, **over):
    feed_order(api, f"o-{n}", **({"merchant": over.pop("merchant")} if "merchant" in over else {}))
    return file_case(api, f"o-{n}", **over)


def _rows(page):
    return ROW.findall(page.text)


def _status(api, case_id):
    return api.as_("agent").get(f"/v1/after-sales/{case_id}").json()


def _notice(person, path="/console/after-sales"):
    found = re.search(r'<p class="notice (ok|error)" role="status">([^<]*)</p>', person.get(path).text)
    assert found, "no notice"
    return found.group(1), unescape(found.group(2))


def test_the_queue_is_the_shop_s_by_urgency_and_another_shop_sees_none_of_it(api):
    first = _case(api, 1, type="refund_only")
    api.clock.advance(timedelta(hours=1))
    second, third = _case(api, 2), _case(api, 3)  # one deadline: ordered by id
    api.as_("merchant", merchant_id="m-1").post(f"/v1/after-sales/{first['id']}/approve", json={})  # refunded
    merchant = Console(api, "merchant", merchant_id="m-1")
    page = merchant.get("/console/after-sales")
    assert page.status_code == 200 and "售后单管理" in page.text
    assert _rows(page) == sorted([second["id"], third["id"]])
    assert _rows(merchant.get("/console/after-sales?status=all"))[-1] == first["id"]  # no deadline: last
    assert 'class="countdown"' in page.text and "西湖龙井" not in page.text
    other = Console(api, "merchant", merchant_id="m-2")
    assert _rows(other.get("/console/after-sales?status=all")) == []
    assert other.get(f"/console/after-sales/{second['id']}").status_code == 404
    english = merchant.get("/console/after-sales?lang=en").text
    assert "After-sales management" in english and "Under 4 hours" in english
    # Other roles keep the generic list.
    assert "bulk-approve" not in Console(api, "buyer", "b-1").get("/console/after-sales").text


def test_the_queue_filters_and_pages_by_its_cursor(api):
    soon = _case(api, 1, type="refund_only", reason="not_as_described")
    api.clock.advance(timedelta(hours=30))
    later = [_case(api, n) for n in (2, 3, 4)]
    api.clock.advance(timedelta(hours=15))  # soon: 3 h left; the others 33 h
    merchant = Console(api, "merchant", merchant_id="m-1")
    assert _rows(merchant.get("/console/after-sales?due=4h")) == [soon["id"]]
    assert _rows(merchant.get("/console/after-sales?type=return_refund")) == sorted(c["id"] for c in later)
    assert _rows(merchant.get("/console/after-sales?reason=not_as_described")) == [soon["id"]]
    assert _rows(merchant.get("/console/after-sales?status=rejected")) == []
    # Pages of two, each "More" link keeping the filter: every case once, in urgency order.
    seen, path = [], "/console/after-sales?type=return_refund&limit=2"
    while path:
        page = merchant.get(unescape(path))
        seen += _rows(page)
        found = NEXT.search(page.text)
        path = found.group(1) if found else None
        assert path is None or "type=return_refund" in path
    assert seen == sorted(c["id"] for c in later)
    for bad in ("status=lost", "due=1h", "cursor=xyz", "limit=abc", "limit=0"):
        assert merchant.get(f"/console/after-sales?{bad}").status_code == 400, bad


def test_bulk_approve_reports_each_case_s_result(api):
    _book(api)
    refund = _case(api, 1, type="refund_only")
    ret = _case(api, 2)
    stale = _case(api, 3)
    foreign = _case(api, 4, merchant="m-2")
    merchant = Console(api, "merchant", merchant_id="m-1")
    page = merchant.get("/console/after-sales")
    ticks = {case_id: value for value, case_id in re.findall(r'name="case" value="(([^"@]+)@\d+)"', page.text)}
    assert set(ticks) == {refund["id"], ret["id"], stale["id"]}
    # Someone extends one meanwhile: the queue's version of it is stale.
    extended = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{stale['id']}/extend", json={"hours": 24, "reason": "等待质检"}
    )
    assert extended.status_code == 200, extended.text
    picked = [ticks[refund["id"]], ticks[ret["id"]], ticks[stale["id"]], f"{foreign['id']}@{foreign['version']}"]
    r = merchant.http.post(
        "/console/after-sales/bulk-approve",
        data={"csrf": merchant.csrf(), "case": picked, "back": "/console/after-sales"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/after-sales"
    kind, text = _notice(merchant)
    assert kind == "error" and text.startswith("已同意 2 件。 未同意 2 件")
    assert "该申请已有新的变化" in text and "未找到" in text, text
    assert _status(api, refund["id"])["status"] == "refunded"
    approved = _status(api, ret["id"])
    assert approved["status"] == "awaiting_return" and approved["return_address_id"] == "hz-1"
    assert _status(api, stale["id"])["status"] == "pending_merchant"
    assert _status(api, foreign["id"])["status"] == "pending_merchant"


def test_bulk_approve_without_a_book_leaves_returns_to_their_page(api):
    ret = _case(api, 1)
    merchant = Console(api, "merchant", merchant_id="m-1")
    data = {"csrf": merchant.csrf(), "case": f"{ret['id']}@{ret['version']}"}
    assert merchant.http.post("/console/after-sales/bulk-approve", data=data).status_code == 303
    assert "店铺退货地址库中没有地址" in _notice(merchant)[1]
    assert _status(api, ret["id"])["status"] == "pending_merchant"


def test_bulk_approve_without_its_csrf_token_changes_nothing(api):
    case = _case(api, 1, type="refund_only")
    merchant = Console(api, "merchant", merchant_id="m-1")
    for token in (None, "", "forged" * 8):
        data = {"case": f"{case['id']}@{case['version']}", **({"csrf": token} if token is not None else {})}
        r = merchant.http.post("/console/after-sales/bulk-approve", data=data)
        assert r.status_code == 403
    assert _status(api, case["id"])["status"] == "pending_merchant"
    # Not a merchant's: a buyer finds no such page.
    buyer = Console(api, "buyer", "b-1")
    data = {"csrf": buyer.csrf(), "case": f"{case['id']}@{case['version']}"}
    assert buyer.http.post("/console/after-sales/bulk-approve", data=data).status_code == 404
    assert _status(api, case["id"])["status"] == "pending_merchant"


def test_the_case_page_approves_with_an_address_from_the_book(api):
    _book(api)
    case = _case(api, 1)
    merchant = Console(api, "merchant", merchant_id="m-1")
    page = merchant.get(f"/console/after-sales/{case['id']}").text
    select = re.search(r'<select id="approve-return_address_id".*?</select>', page, re.S).group(0)
    assert '<option value="hz-1" selected>陈师傅 0571-87001234' in select and 'value="sh-2"' in select
    r = merchant.act("after_sale", case["id"], "approve", version=case["version"], return_address_id="sh-2")
    assert r.status_code == 303
    assert _status(api, case["id"])["return_address"] == "周店长 021-52006677 上海市静安区南京西路 1266 号"


def test_quick_replies_are_kept_on_their_page_and_posted_from_the_case_page(api):
    case = _case(api, 1)
    merchant = Console(api, "merchant", merchant_id="m-1")
    csrf = merchant.csrf()
    added = merchant.http.post("/console/merchant/replies", data={"csrf": csrf, "title": "加急", "body": "亲，已加急"})
    assert added.status_code == 303
    listing = merchant.get("/console/merchant/replies").text
    assert "亲，已加急" in listing
    template_id = re.search(r"/console/merchant/replies/([^/]+)/delete", listing).group(1)
    page = merchant.get(f"/console/after-sales/{case['id']}").text
    assert f'<option value="{template_id}">加急' in page
    sent = merchant.http.post(
        f"/console/after-sales/{case['id']}/messages", data={"csrf": csrf, "template_id": template_id}
    )
    assert sent.status_code == 303
    assert "亲，已加急" in merchant.get(f"/console/after-sales/{case['id']}").text
    # Another shop cannot delete it; an empty title is told; the shop deletes it.
    other = Console(api, "merchant", merchant_id="m-2")
    assert (
        other.http.post(f"/console/merchant/replies/{template_id}/delete", data={"csrf": other.csrf()}).status_code
        == 404
    )
    merchant.http.post("/console/merchant/replies", data={"csrf": csrf, "title": "", "body": "x"})
    assert _notice(merchant, "/console/merchant/replies")[0] == "error"
    no_csrf = merchant.http.post(f"/console/merchant/replies/{template_id}/delete", data={})
    assert no_csrf.status_code == 403
    merchant.http.post(f"/console/merchant/replies/{template_id}/delete", data={"csrf": csrf})
    assert "亲，已加急" not in merchant.get("/console/merchant/replies").text
    # The shop's own pages are no one else's.
    buyer = Console(api, "buyer", "b-1")
    for path in ("/console/merchant/replies", "/console/merchant/standing"):
        assert buyer.get(path).status_code == 404, path


def test_a_lost_ruling_shows_on_standing_and_offers_the_appeal(api):
    case = _case(api, 1)
    shop = api.as_("merchant", merchant_id="m-1")
    assert shop.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    escalated = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    dispute_id = escalated.json()["dispute_id"]
    merchant = Console(api, "merchant", merchant_id="m-1")
    assert "/appeals" not in merchant.get(f"/console/after-sales/{case['id']}").text  # nothing ruled yet
    ruling = {"outcome": "refund", "liable_party": "merchant", "rationale": "商品受潮属实"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=ruling).status_code == 200
    page = merchant.get(f"/console/after-sales/{case['id']}").text
    assert f'action="/console/disputes/{dispute_id}/appeals"' in page and "商品受潮属实" in page
    standing = merchant.get("/console/merchant/standing").text
    assert re.search(r'class="points">4<', standing) and "扣分" in standing and "生效中" in standing
    # The buyer won: no appeal for the buyer; the merchant's appeal is filed once.
    assert "/appeals" not in Console(api, "buyer", "b-1").get(f"/console/after-sales/{case['id']}").text
    data = {"csrf": merchant.csrf(), "grounds": "买家自行损坏", "back": f"/console/after-sales/{case['id']}"}
    assert merchant.http.post(f"/console/disputes/{dispute_id}/appeals", data=data).status_code == 303
    appeals = api.as_("agent").get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]
    assert [(a["appellant_role"], a["grounds"]) for a in appeals] == [("merchant", "买家自行损坏")]
    assert "awaiting a decision" in merchant.get(f"/console/after-sales/{case['id']}?lang=en").text
    other = Console(api, "merchant", merchant_id="m-2")
    data["csrf"] = other.csrf()
    assert other.http.post(f"/console/disputes/{dispute_id}/appeals", data=data).status_code == 404


def _form(person, case_id, action, files=None, **fields):
    """Post an action's form from the case page as the browser would (multipart, with uploads)."""
    data = {"csrf": person.csrf(), "version": str(_status(person.api, case_id)["version"])}
    data["back"] = f"/console/after-sales/{case_id}"
    r = person.http.post(f"/console/act/after_sale/{case_id}/{action}", data={**data, **fields}, files=files)
    assert r.status_code == 303, r.text
    return _status(person.api, case_id)


def _shipped(api, case, merchant):
    _form(merchant, case["id"], "approve", return_address="杭州市西湖区龙井路 18 号")
    r = api.as_("buyer", "b-1").post(
        f"/v1/after-sales/{case['id']}/ship-return", json={"carrier": "SF", "tracking_number": "SF1"}
    )
    assert r.status_code == 200, r.text


def test_the_merchant_s_forms_reject_with_evidence_offer_and_extend(api):
    case = _case(api, 1)
    merchant = Console(api, "merchant", merchant_id="m-1")
    page = merchant.get(f"/console/after-sales/{case['id']}").text
    for action in ("approve", "reject", "offer", "extend"):
        assert f'data-action="{action}"' in page, action
    assert "以下拒绝原因须附凭证" in page and "商品被买家损坏" in page
    # A reason that needs proof is refused without it, then taken with a photo uploaded in the form.
    assert _form(merchant, case["id"], "reject", reason="buyer_damaged")["status"] == "pending_merchant"
    assert _notice(merchant, f"/console/after-sales/{case['id']}")[0] == "error"
    before = _status(api, case["id"])["deadline"]["due_at"]
    extended = _form(merchant, case["id"], "extend", hours="24", reason="等待质检结果")
    assert extended["status"] == "pending_merchant" and extended["deadline"]["due_at"] > before
    offered = _form(merchant, case["id"], "offer", amount="50.00", note="部分退款")
    assert offered["status"] == "awaiting_buyer"

    other = _case(api, 2)
    photo = {"evidence__upload": ("damage.png", PNG, "image/png")}
    rejected = _form(merchant, other["id"], "reject", files=photo, reason="buyer_damaged", note="包装破损")
    assert rejected["status"] == "rejected" and len(rejected["evidence"]) == len(other["evidence"]) + 1


def test_the_merchant_confirms_receipt_or_disputes_the_returned_goods(api):
    merchant = Console(api, "merchant", merchant_id="m-1")
    kept = _case(api, 1)
    _shipped(api, kept, merchant)
    assert _form(merchant, kept["id"], "confirm_receipt")["status"] == "refunded"
    broken = _case(api, 2)
    _shipped(api, broken, merchant)
    page = merchant.get(f"/console/after-sales/{broken['id']}").text
    assert 'data-action="dispute_return"' in page and 'data-action="confirm_receipt"' in page
    disputed = _form(merchant, broken["id"], "dispute_return", reason="damaged", statement="退回的茶叶罐已摔坏")
    assert disputed["status"] == "in_intervention" and disputed["dispute_id"]


def test_a_cod_refund_is_closed_with_the_voucher_uploaded_in_its_form(api):
    feed_order(api, "o-1", method="cod")
    case = file_case(api, "o-1", type="refund_only")
    merchant = Console(api, "merchant", merchant_id="m-1")
    assert _form(merchant, case["id"], "approve")["status"] == "awaiting_refund_voucher"
    assert _form(merchant, case["id"], "refund_voucher")["status"] == "awaiting_refund_voucher"  # none attached
    voucher = {"evidence__upload": ("voucher.pdf", PDF, "application/pdf")}
    bogus = _form(merchant, case["id"], "refund_voucher", files=voucher, evidence__kind="bogus")
    assert bogus["status"] == "awaiting_refund_voucher"  # an unknown kind of file is refused whole
    done = _form(merchant, case["id"], "refund_voucher", files=voucher, evidence__kind="order_info")
    assert done["status"] == "refunded"
    files = [api.as_("agent").get(f"/v1/evidence/{e}").json() for e in done["evidence"]]
    assert [f["kind"] for f in files if f["filename"] == "voucher.pdf"] == ["order_info"]  # as the form said
