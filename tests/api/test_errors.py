"""Errors (docs/api.md "Errors"): every one is `application/problem+json` with type, title, status,
detail and a stable code; malformed input is 422, a wrong state 409, and a rejected request
writes nothing at all. Never a 500 for anything a client can send."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from api_builders import ADDRESS, assert_problem, case_body, db_state, feed_order, file_case, order_body

MAX_AMOUNT = 10**12


@pytest.fixture
def delivered(api):
    """o-1001 delivered: 2 x 9900 goods + 1000 shipping, paid online; refundable 19800."""
    return feed_order(api, "o-1001", upto="delivered")


# --- malformed input is 422 validation_error, and nothing is written --------------------------

MALFORMED_JSON = [
    b"{",
    b'{"order_id": "o-1001",}',
    b"{'order_id': 'o-1001'}",
    b"",
    b"\xff\xfe\x00",
    b"[1, 2]",
    b'"o-1001"',
    b"null",
    b"42",
]


@pytest.mark.parametrize("raw", MALFORMED_JSON)
def test_malformed_json_body_is_422_validation_error_and_writes_nothing(api, runtime, delivered, raw):
    case_id = file_case(api, "o-1001")["id"]
    before = db_state(runtime)
    buyer, market = api.as_("buyer", "b-1"), api.as_("integration", "marketplace")
    merchant = api.as_("merchant", merchant_id="m-1")
    json_headers = {"content-type": "application/json"}
    for r in (
        buyer.post("/v1/after-sales", content=raw, headers=json_headers),
        market.post("/v1/orders", content=raw, headers=json_headers),
        merchant.post(f"/v1/after-sales/{case_id}/reject", content=raw, headers=json_headers),
    ):
        assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before


def test_an_integer_too_long_to_parse_is_422_not_400(api, runtime, delivered):
    before = db_state(runtime)
    raw = b'{"order_id": "o-1001", "type": "refund_only", "reason": "damaged", "amount": ' + b"9" * 5000 + b"}"
    r = api.as_("buyer", "b-1").post("/v1/after-sales", content=raw, headers={"content-type": "application/json"})
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before


BAD_CASE_BODIES = {
    "amount as a string": {"amount": "100"},
    "amount as a float": {"amount": 1.5},
    "amount as a boolean": {"amount": True},
    "amount zero": {"amount": 0},
    "amount negative": {"amount": -100},
    "amount above the maximum": {"amount": MAX_AMOUNT + 1},
    "amount absurdly huge": {"amount": 10**30},
    "unknown field": {"coupon": "FREE"},
    "unknown type": {"type": "refund_and_keep"},
    "unknown reason": {"reason": "bored"},
    "empty reason": {"reason": ""},
    "order_id with spaces": {"order_id": "o 1001"},
    "order_id too long": {"order_id": "o" * 65},
    "order_id not a string": {"order_id": 1001},
    "evidence not a list": {"evidence": "ev_1"},
    "unknown evidence": {"evidence": ["ev_doesnotexist"]},
    "description too long": {"description": "长" * 2001},
}


@pytest.mark.parametrize("what", BAD_CASE_BODIES)
def test_invalid_case_request_is_422_and_writes_nothing(api, runtime, delivered, what):
    before = db_state(runtime)
    r = api.as_("buyer", "b-1").post("/v1/after-sales", json={**case_body("o-1001"), **BAD_CASE_BODIES[what]})
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before
    assert api.as_("buyer", "b-1").get("/v1/after-sales").json()["items"] == []


@pytest.mark.parametrize("missing", ["order_id", "type", "reason"])
def test_case_request_missing_a_required_field_is_422_naming_it(api, runtime, delivered, missing):
    before = db_state(runtime)
    body = case_body("o-1001")
    del body[missing]
    problem = assert_problem(api.as_("buyer", "b-1").post("/v1/after-sales", json=body), 422, "validation_error")
    assert any(missing in err["loc"] for err in problem["errors"]), problem
    assert db_state(runtime) == before


def test_amount_above_refundable_is_422_amount_exceeds_refundable_and_the_limit_is_allowed(api, runtime, delivered):
    """Shipping is not refundable under douyin@1: goods 19800 are, 19801 is not."""
    buyer = api.as_("buyer", "b-1")
    before = db_state(runtime)
    problem = assert_problem(
        buyer.post("/v1/after-sales", json=case_body("o-1001", amount=19801)), 422, "amount_exceeds_refundable"
    )
    assert problem.get("refundable") == 19800
    assert db_state(runtime) == before
    r = buyer.post("/v1/after-sales", json=case_body("o-1001", amount=19800))
    assert r.status_code == 201 and r.json()["amount"] == 19800, r.text


BAD_ORDER_BODIES = {
    "unknown payment method": {"payment_method": "credit"},
    "lowercase currency": {"currency": "cny"},
    "negative shipping fee": {"shipping_fee": -1},
    "shipping fee as a string": {"shipping_fee": "1000"},
    "no items": {"items": []},
    "zero quantity": {"items": [{"sku": "a", "title": "t", "quantity": 0, "unit_price": 1}]},
    "unit price as a float": {"items": [{"sku": "a", "title": "t", "quantity": 1, "unit_price": 9.9}]},
    "item with an unknown field": {"items": [{"sku": "a", "title": "t", "quantity": 1, "unit_price": 1, "x": 1}]},
    "total above the maximum": {"items": [{"sku": "a", "title": "t", "quantity": 100_000, "unit_price": MAX_AMOUNT}]},
    "unknown field": {"coupon_code": "X5"},
    "id with a slash": {"id": "o/1"},
}


@pytest.mark.parametrize("what", BAD_ORDER_BODIES)
def test_invalid_order_is_422_and_writes_nothing(api, runtime, what):
    before = db_state(runtime)
    body = {**order_body("o-9"), **BAD_ORDER_BODIES[what]}
    assert_problem(api.as_("integration", "marketplace").post("/v1/orders", json=body), 422, "validation_error")
    assert db_state(runtime) == before
    assert_problem(api.as_("agent").get("/v1/orders/o-9"), 404, "not_found")


def test_order_with_an_unknown_policy_is_rejected_before_anything_is_written(api, runtime):
    before = db_state(runtime)
    r = api.as_("integration", "marketplace").post("/v1/orders", json={**order_body("o-9"), "policy": "nope@9"})
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before


def test_feeding_the_same_order_id_twice_is_409_and_keeps_the_first(api, runtime):
    market = api.as_("integration", "marketplace")
    assert market.post("/v1/orders", json=order_body("o-1")).status_code == 201
    before = db_state(runtime)
    assert_problem(market.post("/v1/orders", json=order_body("o-1", buyer="b-9")), 409, "order_exists")
    assert db_state(runtime) == before


def test_action_bodies_are_validated_before_anything_is_written(api, runtime, delivered):
    case_id = file_case(api, "o-1001")["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    before = db_state(runtime)
    for path, body in [
        (f"/v1/after-sales/{case_id}/reject", {}),  # reason is required
        (f"/v1/after-sales/{case_id}/reject", {"reason": "no_quality_issue", "mood": "angry"}),
        (f"/v1/after-sales/{case_id}/reject", {"reason": "no_quality_issue", "evidence": ["ev_nope"]}),
        (f"/v1/after-sales/{case_id}/approve", {}),  # a return needs the return address
        (f"/v1/after-sales/{case_id}/approve", {"return_address": "   "}),
        (f"/v1/after-sales/{case_id}/approve", {"return_address": 42}),
        (f"/v1/after-sales/{case_id}/approve", {"return_address": ADDRESS, "amount": 1}),
    ]:
        assert_problem(merchant.post(path, json=body), 422, "validation_error")
    assert_problem(
        merchant.post(
            f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}, headers={"If-Match": "abc"}
        ),
        422,
        "validation_error",
    )
    assert_problem(
        merchant.post(
            f"/v1/after-sales/{case_id}/approve",
            json={"return_address": ADDRESS},
            headers={"Idempotency-Key": "k" * 256},
        ),
        422,
        "validation_error",
    )
    assert db_state(runtime) == before
    assert merchant.get(f"/v1/after-sales/{case_id}").json()["status"] == "pending_merchant"


def test_shipping_an_order_needs_carrier_and_tracking(api, runtime):
    feed_order(api, "o-1", upto="stocking")
    before = db_state(runtime)
    market = api.as_("integration", "marketplace")
    for body in (None, {}, {"carrier": "SF"}, {"carrier": "", "tracking_number": "1"}):
        assert_problem(market.post("/v1/orders/o-1/ship", json=body), 422, "validation_error")
    assert db_state(runtime) == before


# --- unknown ids are 404 ---------------------------------------------------------------------


def test_unknown_ids_are_404_not_found(api, runtime, delivered):
    before = db_state(runtime)
    buyer, merchant, agent = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1"), api.as_("agent")
    for r in (
        agent.get("/v1/orders/o-nope"),
        agent.get("/v1/orders/o-nope/events"),
        agent.get("/v1/after-sales/as_nope"),
        agent.get("/v1/after-sales/as_nope/events"),
        agent.get("/v1/disputes/dp_nope"),
        agent.get("/v1/evidence/ev_nope"),
        merchant.post("/v1/after-sales/as_nope/approve", json={"return_address": ADDRESS}),
        buyer.post("/v1/after-sales/as_nope/withdraw"),
        api.as_("integration", "marketplace").post("/v1/orders/o-nope/pay"),
        buyer.post("/v1/after-sales", json=case_body("o-nope")),
    ):
        assert_problem(r, 404, "not_found")
    assert db_state(runtime) == before


def test_unknown_routes_and_methods_are_problems_too(api):
    assert_problem(api.as_("agent").get("/v1/nothing-here"), 404, "not_found")
    assert_problem(api.as_("agent").delete("/v1/orders"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "path,methods",
    [
        ("/v1/orders", {"GET", "POST"}),
        ("/v1/after-sales", {"GET", "POST"}),
        ("/v1/disputes/dp_x/appeals", {"GET", "POST"}),
        ("/v1/merchants/m-1/violations", {"GET", "POST"}),
        ("/v1/merchants/m-1/reply-templates/rt_1", {"DELETE"}),
    ],
)
def test_a_405_allows_every_method_the_path_takes(api, path, methods):
    r = api.as_("agent").options(path)
    assert_problem(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) == methods


# --- an action not allowed in the current state is 409 ---------------------------------------


def test_illegal_transitions_are_409_and_write_nothing(api, runtime, delivered):
    case_id = file_case(api, "o-1001")["id"]
    feed_order(api, "o-2", upto="stocking")
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    market = api.as_("integration", "marketplace")
    before = db_state(runtime)
    for r in (
        merchant.post(f"/v1/after-sales/{case_id}/confirm-receipt"),
        buyer.post(f"/v1/after-sales/{case_id}/ship-return", json={"carrier": "ZTO", "tracking_number": "1"}),
        buyer.post(f"/v1/after-sales/{case_id}/escalate", json={"statement": "介入"}),
        merchant.post(f"/v1/after-sales/{case_id}/dispute-return", json={"reason": "used", "statement": "x"}),
        market.post("/v1/orders/o-2/deliver"),
        market.post("/v1/orders/o-1001/pay"),
        market.post("/v1/orders/o-1001/cancel"),
    ):
        problem = assert_problem(r, 409, "illegal_transition")
        # The subject's own state never overwrites the problem's HTTP `status`.
        assert problem["status"] == 409 and problem["current_status"] in ("pending_merchant", "stocking", "delivered")
    assert db_state(runtime) == before


def test_acting_twice_is_409_the_second_time(api, runtime, delivered):
    case_id = file_case(api, "o-1001")["id"]
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}).status_code == 200
    before = db_state(runtime)
    assert_problem(
        merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}), 409, "illegal_transition"
    )
    assert_problem(
        merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"}),
        409,
        "illegal_transition",
    )
    assert db_state(runtime) == before
    events = merchant.get(f"/v1/after-sales/{case_id}/events").json()["items"]
    assert [e["action"] for e in events] == ["file", "approve"]


def test_a_second_open_request_on_the_same_order_is_409(api, runtime, delivered):
    file_case(api, "o-1001")
    before = db_state(runtime)
    r = api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1001", type="refund_only"))
    assert_problem(r, 409, "case_already_open")
    assert db_state(runtime) == before


def test_filing_on_an_order_not_yet_shipped_is_409(api, runtime):
    feed_order(api, "o-1", upto="stocking")
    before = db_state(runtime)
    assert_problem(api.as_("buyer", "b-1").post("/v1/after-sales", json=case_body("o-1")), 409, "illegal_transition")
    assert db_state(runtime) == before


def test_a_party_acting_after_its_deadline_lapsed_is_409_deadline_passed(api, runtime, delivered):
    """The merchant has 48 h; once they lapse the step is the system's even before a worker fires."""
    case_id = file_case(api, "o-1001")["id"]
    api.clock.advance(timedelta(hours=48, seconds=1))
    before = db_state(runtime)
    merchant = api.as_("merchant", merchant_id="m-1")
    problem = assert_problem(
        merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": ADDRESS}), 409, "deadline_passed"
    )
    assert problem["due_at"]
    assert_problem(
        merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"}), 409, "deadline_passed"
    )
    assert db_state(runtime) == before


# --- never a 500 -------------------------------------------------------------------------------


def test_nul_characters_are_never_a_500(api, runtime, delivered):
    """PostgreSQL cannot store NUL in text: a client sending one gets a problem, never a crash."""
    case_id = file_case(api, "o-1001")["id"]
    agent, merchant = api.as_("agent"), api.as_("merchant", merchant_id="m-1")
    for path in (
        "/v1/orders/%00",
        "/v1/after-sales/a%00b",
        "/v1/evidence/%00",
        "/v1/disputes/%00",
        "/v1/after-sales/a%00b/events",
    ):
        r = agent.get(path)
        assert r.status_code in (404, 422), (path, r.text)
        assert_problem(r, r.status_code)
    for params in ({"status": "\x00"}, {"order_id": "o\x00"}, {"merchant_id": "\x00"}):
        r = agent.get("/v1/after-sales", params=params)
        assert r.status_code in (200, 422), (params, r.text)
        if r.status_code == 200:
            assert r.json()["items"] == []
    r = merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "bad\x00reason", "note": "n\x00"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert_problem(r, 422, "validation_error")
        assert merchant.get(f"/v1/after-sales/{case_id}").json()["status"] == "pending_merchant"


def test_out_of_range_cursor_dates_are_422_not_500(api):
    """Year 1 at +14:00 has no UTC value; a naive time is not a cursor we ever hand out."""
    agent = api.as_("agent")
    for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-24T10:00:00"):
        cursor = base64.urlsafe_b64encode(json.dumps([at, "o-1"]).encode()).decode().rstrip("=")
        for path in ("/v1/orders", "/v1/after-sales"):
            assert_problem(agent.get(path, params={"cursor": cursor}), 422, "validation_error")


def test_an_order_naming_an_unknown_policy_is_a_validation_error_and_writes_nothing(api, runtime):
    before = db_state(runtime)
    body = {**order_body("o-pol"), "policy": "nosuch@9"}
    assert_problem(api.as_("integration", "marketplace").post("/v1/orders", json=body), 422, "validation_error")
    assert db_state(runtime) == before


def test_an_order_may_name_the_tiktok_policy_and_its_case_keeps_it(api):
    market = api.as_("integration", "marketplace")
    body = {**order_body("o-tt"), "policy": "tiktok_shop@1"}
    assert market.post("/v1/orders", json=body).status_code == 201
    for action, payload in [("pay", None), ("ship", {"carrier": "J&T", "tracking_number": "JT1"}), ("deliver", None)]:
        assert market.post(f"/v1/orders/o-tt/{action}", json=payload).status_code == 200
    case = file_case(api, "o-tt")
    assert case["policy"] == "tiktok_shop@1"
    # TikTok Shop: 48 h to answer, then the buyer has 5 days (not douyin's 7) to ship back.
    approved = (
        api.as_("merchant", merchant_id="m-1")
        .post(f"/v1/after-sales/{case['id']}/approve", json={"return_address": "Jakarta"})
        .json()
    )
    from datetime import datetime

    due = datetime.fromisoformat(approved["deadline"]["due_at"]) - datetime.fromisoformat(approved["updated_at"])
    assert due.total_seconds() == 5 * 86400
