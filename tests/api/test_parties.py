"""Parties over HTTP: the marketplace upserts merchant and buyer profiles, their owners and the
staff read them, approvals take an address from the merchant's book, and people read names."""

import io

import pytest
from pypdf import PdfReader

from api_builders import assert_problem, db_state, feed_order, file_case

BOOK = [
    {"id": "hz-1", "name": "陈师傅", "phone": "0571-87001234", "address": "浙江省杭州市西湖区龙井路 18 号"},
    {"id": "sh-2", "name": "周店长", "phone": "021-52006677", "address": "上海市静安区南京西路 1266 号"},
]
SHOP = {"name": "西湖茶庄", "timezone": "Asia/Shanghai", "return_addresses": BOOK}


def _market(api):
    return api.as_("integration", "marketplace")


def _profiles(api):
    market = _market(api)
    assert market.put("/v1/merchants/m-1", json=SHOP).status_code == 200
    assert market.put("/v1/buyers/b-1", json={"display_name": "张伟"}).status_code == 200


def test_a_merchant_profile_is_upserted_and_read_back_by_the_merchant_and_the_staff(api, clock):
    market = _market(api)
    first = market.put("/v1/merchants/m-1", json=SHOP)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["id"] == "m-1" and body["name"] == "西湖茶庄" and body["timezone"] == "Asia/Shanghai"
    assert body["return_addresses"] == BOOK
    # The same PUT again changes nothing but updated_at; a new body replaces the profile.
    again = market.put("/v1/merchants/m-1", json=SHOP).json()
    assert {k: v for k, v in again.items() if k != "updated_at"} == {k: v for k, v in body.items() if k != "updated_at"}
    changed = api.as_("admin", "admin-1").put("/v1/merchants/m-1", json={**SHOP, "return_addresses": BOOK[1:]})
    assert changed.json()["return_addresses"] == BOOK[1:] and changed.json()["created_at"] == body["created_at"]
    for reader in (api.as_("merchant", merchant_id="m-1"), api.as_("agent", "agent-1"), market):
        r = reader.get("/v1/merchants/m-1")
        assert r.status_code == 200 and r.json()["return_addresses"] == BOOK[1:], r.text


def test_a_buyer_profile_is_read_by_the_buyer_and_the_staff_only(api):
    _profiles(api)
    assert api.as_("buyer", "b-1").get("/v1/buyers/b-1").json()["display_name"] == "张伟"
    assert api.as_("agent", "agent-1").get("/v1/buyers/b-1").json()["display_name"] == "张伟"
    assert_problem(api.as_("buyer", "b-2").get("/v1/buyers/b-1"), 404, "not_found")
    assert_problem(api.as_("merchant", merchant_id="m-1").get("/v1/buyers/b-1"), 403, "forbidden")


def test_another_shop_cannot_read_a_merchant_profile(api):
    _profiles(api)
    other = api.as_("merchant", merchant_id="m-2")
    seen, missing = other.get("/v1/merchants/m-1"), other.get("/v1/merchants/m-404")
    assert_problem(seen, 404, "not_found")
    assert seen.json() == missing.json()  # (the same answer as for a shop that does not exist)
    assert_problem(api.as_("buyer", "b-1").get("/v1/merchants/m-1"), 403, "forbidden")


def test_only_the_marketplace_and_admin_upsert_profiles(api, runtime):
    before = db_state(runtime)
    assert_problem(api.as_("buyer", "b-1").put("/v1/buyers/b-1", json={"display_name": "我"}), 403, "forbidden")
    assert_problem(api.as_("merchant", merchant_id="m-1").put("/v1/merchants/m-1", json=SHOP), 403, "forbidden")
    assert_problem(api.as_("agent", "agent-1").put("/v1/merchants/m-1", json=SHOP), 403, "forbidden")
    assert db_state(runtime) == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "validation_error", "timezone"),
        ({"timezone": "../../etc/passwd"}, "validation_error", "timezone"),
        ({"return_addresses": [{**BOOK[0], "id": f"a-{i}"} for i in range(21)]}, "validation_error", None),
        ({"return_addresses": [BOOK[0], {**BOOK[1], "id": "hz-1"}]}, "duplicate_return_address", "return_addresses"),
        ({"name": "店" * 201}, "validation_error", None),
        ({"return_addresses": [{**BOOK[0], "address": "路" * 401}]}, "validation_error", None),
        ({"return_addresses": [{**BOOK[0], "phone": "1" * 33}]}, "validation_error", None),
        ({"return_addresses": [{**BOOK[0], "note": "extra"}]}, "validation_error", None),
        ({"owner": "someone"}, "validation_error", None),
    ],
)
def test_a_bad_merchant_profile_is_422_and_writes_nothing(api, runtime, change, code, field):
    market = _market(api)
    assert market.put("/v1/merchants/m-1", json=SHOP).status_code == 200
    before = db_state(runtime)
    body = assert_problem(market.put("/v1/merchants/m-1", json={**SHOP, **change}), 422, code)
    if field:
        assert field in str(body), body
    assert db_state(runtime) == before
    assert market.get("/v1/merchants/m-1").json()["return_addresses"] == BOOK


def test_an_id_the_tables_cannot_hold_is_422(api, runtime):
    before = db_state(runtime)
    assert_problem(_market(api).put(f"/v1/buyers/{'b' * 65}", json={"display_name": "长"}), 422)
    assert db_state(runtime) == before


def test_approve_takes_an_address_from_the_merchants_book(api):
    _profiles(api)
    feed_order(api, "o-1")
    case = file_case(api, "o-1")
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/approve", json={"return_address_id": "sh-2"}
    )
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "awaiting_return" and approved["return_address_id"] == "sh-2"
    assert approved["return_address"] == "周店长 021-52006677 上海市静安区南京西路 1266 号"
    event = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}/events").json()["items"][-1]
    assert event["data"]["return_address_id"] == "sh-2"


def test_an_unknown_book_address_is_422_and_changes_nothing(api, runtime):
    _profiles(api)
    feed_order(api, "o-1")
    case = file_case(api, "o-1")
    merchant = api.as_("merchant", merchant_id="m-1")
    before = db_state(runtime)
    for body in ({"return_address_id": "nowhere"}, {"return_address_id": "hz-1", "return_address": "别处"}):
        r = merchant.post(f"/v1/after-sales/{case['id']}/approve", json=body)
        assert_problem(r, 422, "unknown_return_address" if "return_address" not in body else "validation_error")
    assert db_state(runtime) == before
    # A marketplace without books still approves with the address written out.
    r = merchant.post(f"/v1/after-sales/{case['id']}/approve", json={"return_address": "杭州市西湖区"})
    assert r.json()["return_address"] == "杭州市西湖区" and r.json()["return_address_id"] is None


def test_a_return_approved_without_any_address_is_still_422(api):
    _profiles(api)
    feed_order(api, "o-1")
    case = file_case(api, "o-1")
    r = api.as_("merchant", merchant_id="m-1").post(f"/v1/after-sales/{case['id']}/approve", json={})
    assert_problem(r, 422)


def test_people_read_names_on_cases_orders_and_listings(api):
    feed_order(api, "o-1")
    case = file_case(api, "o-1")
    buyer = api.as_("buyer", "b-1")
    before = buyer.get(f"/v1/after-sales/{case['id']}").json()
    assert before["merchant_name"] is None and before["buyer_name"] is None  # no profile yet
    _profiles(api)
    read = buyer.get(f"/v1/after-sales/{case['id']}").json()
    assert (read["merchant_name"], read["buyer_name"]) == ("西湖茶庄", "张伟")
    order = buyer.get("/v1/orders/o-1").json()
    assert (order["merchant_name"], order["buyer_name"]) == ("西湖茶庄", "张伟")
    listed = api.as_("merchant", merchant_id="m-1").get("/v1/after-sales").json()["items"]
    assert [(c["merchant_name"], c["buyer_name"]) for c in listed] == [("西湖茶庄", "张伟")]


def test_the_case_file_names_the_parties(api):
    _profiles(api)
    feed_order(api, "o-1")
    case = file_case(api, "o-1")
    body = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}/case-file").json()
    assert body["parties"] == {
        "buyer": {"id": "b-1", "display_name": "张伟"},
        "merchant": {"id": "m-1", "name": "西湖茶庄", "timezone": "Asia/Shanghai"},
    }
    pdf = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}/case-file.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    # Names, not ids, in the reader's language (Chinese by default).
    assert "西湖茶庄" in text and "张伟" in text and "(m-1)" not in text and "(b-1)" not in text
    # Local times: the case was filed at 02:00 UTC, 10:00 in the shop's Asia/Shanghai.
    assert "时间均为 Asia/Shanghai 时区" in text and "2026-11-24 10:00" in text
