"""Who is calling (docs/api.md "Who is calling"): bearer tokens, roles, and tenancy.

A caller without a valid token is 401; an object the caller may not see is 404 with the very
body of a missing one (no leak of existence); an action the caller's role may never take is 403.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import jwt
import pytest

from aftersales.api.auth import mint
from aftersales.domain.clock import SystemClock
from api_builders import ADDRESS, assert_problem, db_state, feed_order, file_case, order_body
from conftest import SECRET


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _exp(hours: float = 1) -> int:
    return int((SystemClock().now() + timedelta(hours=hours)).timestamp())


def _bad_tokens() -> dict[str, str | None]:
    now = SystemClock().now()
    return {
        "no token": None,
        "garbage": "not-a-jwt",
        "three garbage parts": "aaa.bbb.ccc",
        "expired": mint(SECRET, sub="b-1", role="buyer", now=now - timedelta(hours=13)),
        "wrong secret": mint("another-secret-of-at-least-thirty-two-bytes", sub="b-1", role="buyer", now=now),
        "unknown role": mint(SECRET, sub="x-1", role="superuser", now=now),
        "system role": mint(SECRET, sub="system", role="system", now=now),
        "merchant without merchant_id": mint(SECRET, sub="m-1-staff", role="merchant", now=now),
        "no sub": jwt.encode({"role": "buyer", "exp": _exp()}, SECRET, algorithm="HS256"),
        "empty sub": jwt.encode({"sub": "", "role": "buyer", "exp": _exp()}, SECRET, algorithm="HS256"),
        "no exp": jwt.encode({"sub": "b-1", "role": "buyer"}, SECRET, algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'a-1', 'role': 'admin', 'exp': _exp()})}.",
        "HS512 with the right secret": jwt.encode(
            {"sub": "a-1", "role": "admin", "exp": _exp()}, SECRET, algorithm="HS512"
        ),
    }


BAD_TOKENS = [
    "no token",
    "garbage",
    "three garbage parts",
    "expired",
    "wrong secret",
    "unknown role",
    "system role",
    "merchant without merchant_id",
    "no sub",
    "empty sub",
    "no exp",
    "alg none",
    "HS512 with the right secret",
]


def _client(api, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=api.base_url, headers=headers, timeout=30)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("which", BAD_TOKENS)
def test_request_without_a_valid_token_is_401_and_writes_nothing(api, runtime, which):
    feed_order(api, upto="delivered")
    before = db_state(runtime)
    client = _client(api, _bad_tokens()[which])
    for r in (
        client.get("/v1/orders"),
        client.get("/v1/orders/o-1001"),
        client.get("/v1/after-sales"),
        client.post("/v1/orders", json=order_body("o-2")),
        client.post("/v1/after-sales", json={"order_id": "o-1001", "type": "refund_only", "reason": "damaged"}),
        client.post("/v1/orders/o-1001/complete"),
    ):
        body = assert_problem(r, 401, "unauthenticated")
        assert r.headers["www-authenticate"] == "Bearer", body
    assert db_state(runtime) == before


def test_non_bearer_authorization_scheme_is_401(api):
    token = api.token("admin", "a-1")
    for header in (f"Basic {token}", token, "Bearer", f"Token {token}"):
        r = httpx.get(f"{api.base_url}/v1/orders", headers={"Authorization": header})
        assert_problem(r, 401, "unauthenticated")


def test_a_valid_token_of_every_role_is_accepted(api):
    for role in ("buyer", "merchant", "agent", "admin", "integration"):
        r = api.as_(role).get("/v1/orders")
        assert r.status_code == 200, (role, r.text)


# --- tenancy: what the caller may not see is a 404 like a missing one -------------------------


@pytest.fixture
def two_shops(api):
    """o-1 (buyer b-1, shop m-1) with a pending case; o-2 (buyer b-2, shop m-2) with a pending case."""
    feed_order(api, "o-1", buyer="b-1", merchant="m-1")
    feed_order(api, "o-2", buyer="b-2", merchant="m-2")
    return {"o-1": file_case(api, "o-1", buyer="b-1")["id"], "o-2": file_case(api, "o-2", buyer="b-2")["id"]}


def test_buyer_reading_another_buyers_order_gets_the_missing_order_404(api, two_shops):
    buyer = api.as_("buyer", "b-1")
    assert buyer.get("/v1/orders/o-1").status_code == 200
    missing = assert_problem(buyer.get("/v1/orders/o-nope"), 404, "not_found")
    assert assert_problem(buyer.get("/v1/orders/o-2"), 404) == missing
    assert assert_problem(buyer.get("/v1/orders/o-2/events"), 404) == missing


def test_buyer_reading_another_buyers_case_gets_the_missing_case_404(api, two_shops):
    buyer = api.as_("buyer", "b-1")
    assert buyer.get(f"/v1/after-sales/{two_shops['o-1']}").status_code == 200
    missing = assert_problem(buyer.get("/v1/after-sales/as_nope"), 404, "not_found")
    assert assert_problem(buyer.get(f"/v1/after-sales/{two_shops['o-2']}"), 404) == missing
    assert assert_problem(buyer.get(f"/v1/after-sales/{two_shops['o-2']}/events"), 404) == missing


def test_merchant_of_another_shop_gets_404_for_orders_and_cases(api, two_shops):
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.get("/v1/orders/o-1").status_code == 200
    assert merchant.get(f"/v1/after-sales/{two_shops['o-1']}").status_code == 200
    assert assert_problem(merchant.get("/v1/orders/o-2"), 404) == assert_problem(merchant.get("/v1/orders/o-x"), 404)
    assert assert_problem(merchant.get(f"/v1/after-sales/{two_shops['o-2']}"), 404) == assert_problem(
        merchant.get("/v1/after-sales/as_x"), 404
    )


def test_acting_on_another_tenants_case_is_404_and_writes_nothing(api, runtime, two_shops):
    other_case = two_shops["o-2"]
    r = api.as_("merchant", merchant_id="m-2").post(
        f"/v1/after-sales/{other_case}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    before = db_state(runtime)
    # The buyer escalating someone else's (rejected) case learns nothing about it.
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{other_case}/escalate", json={"statement": "介入"})
    assert assert_problem(r, 404, "not_found") == assert_problem(
        api.as_("buyer", "b-1").post("/v1/after-sales/as_nope/escalate", json={"statement": "介入"}), 404
    )
    assert_problem(api.as_("buyer", "b-1").post(f"/v1/after-sales/{other_case}/withdraw"), 404, "not_found")
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{two_shops['o-2']}/approve", json={"return_address": ADDRESS}
    )
    assert_problem(r, 404, "not_found")
    r = api.as_("merchant", merchant_id="m-1").post(
        "/v1/orders/o-2/ship", json={"carrier": "SF", "tracking_number": "1"}
    )
    assert_problem(r, 404, "not_found")
    r = api.as_("buyer", "b-1").post(
        "/v1/after-sales", json={"order_id": "o-2", "type": "refund_only", "reason": "damaged"}
    )
    assert_problem(r, 404, "not_found")
    assert db_state(runtime) == before


# --- roles: an action the role may never take is 403 ----------------------------------------


def test_actions_a_role_may_never_take_are_403_and_write_nothing(api, runtime):
    feed_order(api, "o-stock", upto="stocking")
    feed_order(api, "o-del", upto="delivered")
    case_id = file_case(api, "o-del")["id"]
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    feed_order(api, "o-unpaid", upto="created")
    before = db_state(runtime)
    attempts = {
        "buyer feeds an order": buyer.post("/v1/orders", json=order_body("o-new")),
        "merchant feeds an order": merchant.post("/v1/orders", json=order_body("o-new")),
        "agent feeds an order": api.as_("agent").post("/v1/orders", json=order_body("o-new")),
        "buyer approves its own case": buyer.post(
            f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}
        ),
        "buyer rejects its own case": buyer.post(
            f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"}
        ),
        "merchant files a case": merchant.post(
            "/v1/after-sales", json={"order_id": "o-del", "type": "refund_only", "reason": "damaged"}
        ),
        "merchant withdraws the buyer's case": merchant.post(f"/v1/after-sales/{case_id}/withdraw"),
        "integration approves a case": api.as_("integration", "marketplace").post(
            f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}
        ),
        "merchant marks its order paid": merchant.post("/v1/orders/o-unpaid/pay"),
        "buyer marks its order paid": buyer.post("/v1/orders/o-unpaid/pay"),
        "merchant cancels an online order (stocking)": merchant.post(
            "/v1/orders/o-stock/cancel", json={"reason": "缺货"}
        ),
        "merchant cancels an online order (unpaid)": merchant.post("/v1/orders/o-unpaid/cancel"),
        "buyer marks an order delivered": buyer.post("/v1/orders/o-stock/deliver"),
        "buyer reads the agents' roster": buyer.get("/v1/agents"),
    }
    for what, r in attempts.items():
        assert r.status_code == 403, (what, r.text)
        assert_problem(r, 403, "forbidden")
    assert db_state(runtime) == before


def test_buyer_may_cancel_its_paid_online_order_before_shipping_but_the_merchant_may_not(api):
    feed_order(api, "o-1", upto="stocking")
    assert_problem(api.as_("merchant", merchant_id="m-1").post("/v1/orders/o-1/cancel"), 403, "forbidden")
    r = api.as_("buyer", "b-1").post("/v1/orders/o-1/cancel", json={"reason": "拍错了"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text


def test_merchant_may_cancel_its_own_cod_order_while_stocking(api):
    feed_order(api, "o-cod", method="cod", upto="stocking")
    assert_problem(api.as_("merchant", merchant_id="m-2").post("/v1/orders/o-cod/cancel"), 404, "not_found")
    r = api.as_("merchant", merchant_id="m-1").post("/v1/orders/o-cod/cancel", json={"reason": "缺货"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text


# --- listings show only the caller's rows ---------------------------------------------------


def _ids(client: httpx.Client, path: str, **params) -> set[str]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def test_listings_show_buyers_and_merchants_only_their_own_rows_and_agents_all(api, two_shops):
    feed_order(api, "o-3", buyer="b-1", merchant="m-2")
    b1, b2 = api.as_("buyer", "b-1"), api.as_("buyer", "b-2")
    m1, m2 = api.as_("merchant", merchant_id="m-1"), api.as_("merchant", merchant_id="m-2")
    agent, admin = api.as_("agent"), api.as_("admin")

    assert _ids(b1, "/v1/orders") == {"o-1", "o-3"}
    assert _ids(b2, "/v1/orders") == {"o-2"}
    assert _ids(m1, "/v1/orders") == {"o-1"}
    assert _ids(m2, "/v1/orders") == {"o-2", "o-3"}
    assert _ids(agent, "/v1/orders") == _ids(admin, "/v1/orders") == {"o-1", "o-2", "o-3"}
    # A filter naming someone else never widens the caller's view.
    assert _ids(b1, "/v1/orders", buyer_id="b-2") == set()
    assert _ids(m1, "/v1/orders", merchant_id="m-2") == set()
    assert _ids(b1, "/v1/orders", merchant_id="m-2") == {"o-3"}

    assert _ids(b1, "/v1/after-sales") == {two_shops["o-1"]}
    assert _ids(b2, "/v1/after-sales") == {two_shops["o-2"]}
    assert _ids(m1, "/v1/after-sales") == {two_shops["o-1"]}
    assert _ids(m2, "/v1/after-sales") == {two_shops["o-2"]}
    assert _ids(agent, "/v1/after-sales") == set(two_shops.values())
    assert _ids(m1, "/v1/after-sales", merchant_id="m-2") == set()
    assert _ids(b1, "/v1/after-sales", order_id="o-2") == set()


def test_violations_are_read_by_the_merchant_itself_and_agents_only(api, runtime):
    agent = api.as_("agent")
    r = agent.post("/v1/merchants/m-1/violations", json={"kind": "warning", "cause": "诱导评价"})
    assert r.status_code == 201, r.text
    violation_id = r.json()["id"]
    m1 = api.as_("merchant", merchant_id="m-1")
    assert [v["id"] for v in m1.get("/v1/merchants/m-1/violations").json()["items"]] == [violation_id]
    assert [v["id"] for v in agent.get("/v1/merchants/m-1/violations").json()["items"]] == [violation_id]
    # Another shop: 404 as if the merchant did not exist; its own list is empty.
    m2 = api.as_("merchant", merchant_id="m-2")
    assert_problem(m2.get("/v1/merchants/m-1/violations"), 404, "not_found")
    assert m2.get("/v1/merchants/m-2/violations").json()["items"] == []
    # Buyers may never read sanctions: a role rule, so 403.
    assert_problem(api.as_("buyer", "b-1").get("/v1/merchants/m-1/violations"), 403, "forbidden")
    # Recording one is for agents: a merchant may not sanction a rival, nothing is written.
    before = db_state(runtime)
    r = m1.post("/v1/merchants/m-2/violations", json={"kind": "penalty", "cause": "恶意竞争"})
    assert_problem(r, 403, "forbidden")
    assert db_state(runtime) == before
