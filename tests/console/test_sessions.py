"""Signing in and out of the console, the session cookie, CSRF and tenancy, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx

from api_builders import feed_order, file_case
from console_client import Console

ADDRESS = "浙江省杭州市西湖区龙井路 18 号 售后部"


def test_a_marketplace_token_starts_a_session_with_a_safe_cookie(api):
    http = httpx.Client(base_url=api.base_url, follow_redirects=False)
    r = http.post("/console/sign-in", data={"token": api.token("buyer", "b-1"), "next": "/console/after-sales"})
    assert r.status_code == 303 and r.headers["location"] == "/console/after-sales"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure
    assert http.get("/console/after-sales").status_code == 200


def test_a_forged_or_missing_token_signs_no_one_in(api):
    http = httpx.Client(base_url=api.base_url, follow_redirects=False)
    forged = api.token("agent", "agent-1")[:-4] + "AAAA"
    for data in ({"token": forged}, {"token": ""}, {}, {"who": "agent:agent-1"}):  # no demo mode here
        r = http.post("/console/sign-in", data=data)
        assert r.status_code == 401 and "set-cookie" not in r.headers, data
    assert http.get("/console/after-sales").status_code == 303
    # A cookie of the right shape that names no session is no session either.
    http.cookies.set("aftersales_session", "x" * 43, path="/console")
    assert http.get("/console/after-sales").headers["location"].startswith("/console/sign-in")


def test_sign_in_goes_back_only_inside_the_console(api):
    http = httpx.Client(base_url=api.base_url, follow_redirects=False)
    for target in ("//evil.example/x", "https://evil.example/", "/v1/orders", "/console\\@evil"):
        r = http.post("/console/sign-in", data={"token": api.token("buyer", "b-1"), "next": target})
        assert r.headers["location"] == "/console/", target


def test_a_session_ends_at_sign_out_and_at_expiry(api):
    person = Console(api, "buyer", "b-1")
    stolen = person.http.cookies.get("aftersales_session")
    r = person.http.post("/console/sign-out", data={"csrf": person.csrf()})
    assert r.status_code == 303
    thief = httpx.Client(base_url=api.base_url, follow_redirects=False)
    thief.cookies.set("aftersales_session", stolen, path="/console")
    assert thief.get("/console/after-sales").status_code == 303  # the row is gone, not just the cookie

    later = Console(api, "buyer", "b-1")
    assert later.get("/console/after-sales").status_code == 200
    api.clock.advance(timedelta(hours=12, seconds=1))
    assert later.get("/console/after-sales").headers["location"].startswith("/console/sign-in")


def test_an_action_without_its_csrf_token_changes_nothing(api):
    feed_order(api)
    case = file_case(api)
    merchant = Console(api, "merchant", merchant_id="m-1")
    for token in (None, "", "wrong" * 8):
        data = {"version": str(case["version"]), **({"csrf": token} if token is not None else {})}
        r = merchant.http.post(f"/console/act/after_sale/{case['id']}/approve", data=data)
        assert r.status_code == 403 and "表单已失效" in r.text
    assert api.as_("agent").get(f"/v1/after-sales/{case['id']}").json()["status"] == "pending_merchant"
    done = merchant.act("after_sale", case["id"], "approve", version=case["version"], return_address=ADDRESS)
    assert done.status_code == 303
    assert api.as_("agent").get(f"/v1/after-sales/{case['id']}").json()["status"] != "pending_merchant"


def test_another_shop_s_case_is_404_in_the_console_too(api):
    feed_order(api)
    case = file_case(api)
    other = Console(api, "merchant", merchant_id="m-2")
    assert other.get(f"/console/after-sales/{case['id']}").status_code == 404
    r = other.act("after_sale", case["id"], "approve", version=case["version"], return_address=ADDRESS)
    assert r.status_code == 404
    stranger = Console(api, "buyer", "b-9")
    assert stranger.get(f"/console/after-sales/{case['id']}").status_code == 404
    assert api.as_("agent").get(f"/v1/after-sales/{case['id']}").json()["status"] == "pending_merchant"


def test_a_second_click_on_the_same_form_acts_once(api):
    feed_order(api)
    case = file_case(api)
    merchant = Console(api, "merchant", merchant_id="m-1")
    first = merchant.act("after_sale", case["id"], "approve", version=case["version"], return_address=ADDRESS)
    second = merchant.act("after_sale", case["id"], "approve", version=case["version"], return_address=ADDRESS)
    assert first.status_code == second.status_code == 303
    page = merchant.get(f"/console/after-sales/{case['id']}")
    assert "该申请已有新的变化" in page.text  # the second one was told, not applied
    events = api.as_("agent").get(f"/v1/after-sales/{case['id']}/events").json()["items"]
    assert [e["action"] for e in events].count("approve") == 1


def test_bad_form_values_are_told_and_change_nothing(api):
    feed_order(api)
    case = file_case(api)
    merchant = Console(api, "merchant", merchant_id="m-1")
    for fields in ({"amount": "abc"}, {"amount": "1.234"}, {"amount": "-5"}, {"amount": "1e9999"}):
        r = merchant.act("after_sale", case["id"], "offer", version=case["version"], **fields)
        assert r.status_code == 303
        assert "未完成" in merchant.get(f"/console/after-sales/{case['id']}").text, fields
    assert api.as_("agent").get(f"/v1/after-sales/{case['id']}").json()["version"] == case["version"]


def test_staff_read_times_in_their_shop_s_timezone_and_see_its_name(api):
    """Filed at START (02:00 UTC): 03:00 in the shop's Paris, whatever zone the browser said."""
    shop = {"name": "巴黎茶庄", "timezone": "Europe/Paris", "return_addresses": []}
    assert api.as_("integration", "marketplace").put("/v1/merchants/m-1", json=shop).status_code == 200
    feed_order(api)
    case = file_case(api)
    merchant = Console(api, "merchant", merchant_id="m-1")
    merchant.http.cookies.set("aftersales_tz", "Asia/Tokyo", path="/console")
    page = merchant.get(f"/console/after-sales/{case['id']}").text
    assert "2026/11/24 03:00" in page and "巴黎茶庄" in page
    buyer = Console(api, "buyer", "b-1")
    buyer.http.cookies.set("aftersales_tz", "Asia/Tokyo", path="/console")
    assert "2026/11/24 11:00" in buyer.get(f"/console/after-sales/{case['id']}").text  # the browser's zone
