"""Health, landing page, OpenAPI, reference data (policies, reasons), and the simulated clock
(docs/api.md "Running it", "Simulated time")."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from aftersales.runtime import Runtime
from api_builders import assert_problem, db_state, feed_order, file_case
from conftest import Api

CASE_ACTIONS = [
    "approve",
    "reject",
    "ship-return",
    "confirm-receipt",
    "refund-voucher",
    "withdraw",
    "escalate",
    "dispute-return",
]
ORDER_ACTIONS = ["pay", "confirm", "ship", "deliver", "complete", "cancel"]
API_REASONS = {
    "not_received",
    "not_as_described",
    "damaged",
    "quality_problem",
    "service_not_as_promised",
    "false_advertising",
    "wrong_information",
    "price_fraud",
    "changed_mind",
}


def test_healthz_needs_no_token(api):
    r = api.anonymous.get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == {"status": "ok"}


def test_landing_page_is_html_linking_to_the_docs(api):
    r = api.anonymous.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in r.text
    assert api.anonymous.get("/docs").status_code == 200


def test_openapi_lists_every_action_path_of_the_contract(api):
    r = api.anonymous.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for action in CASE_ACTIONS:
        assert "post" in paths[f"/v1/after-sales/{{subject_id}}/{action}"], action
    for action in ORDER_ACTIONS:
        assert "post" in paths[f"/v1/orders/{{subject_id}}/{action}"], action
    for path in (
        "/v1/orders",
        "/v1/after-sales",
        "/v1/evidence",
        "/v1/reasons",
        "/v1/policies",
        "/v1/admin/clock",
        "/v1/refunds",
        "/v1/disputes",
        "/v1/merchants/{merchant_id}/violations",
    ):
        assert path in paths, path


def test_policies_include_douyin_with_a_48h_merchant_response(api):
    r = api.as_("buyer", "b-1").get("/v1/policies")
    assert r.status_code == 200
    body = r.json()
    douyin = next(p for p in body["items"] if p["key"] == "douyin@1")
    assert douyin["timers"]["merchant_response"] == 172800
    assert douyin["timers"]["buyer_ship_return"] == 7 * 86400
    assert douyin["shipping_refundable"] is False
    assert body["default"] == "douyin@1"


def test_reasons_include_the_nine_of_the_contract(api):
    r = api.as_("merchant", merchant_id="m-1").get("/v1/reasons")
    assert r.status_code == 200
    codes = {item["code"] for item in r.json()["items"]}
    assert codes >= API_REASONS
    assert all(item["label_zh"] for item in r.json()["items"])


def test_reference_data_needs_a_token(api):
    for path in ("/v1/policies", "/v1/reasons"):
        assert_problem(api.anonymous.get(path), 401, "unauthenticated")


# --- the simulated clock ---------------------------------------------------------------------


def test_clock_endpoint_is_404_when_the_clock_is_not_simulated_even_for_admin(api, runtime):
    before = db_state(runtime)
    for role in ("admin", "buyer", "agent"):
        r = api.as_(role).post("/v1/admin/clock", json={"advance_seconds": 172801})
        assert_problem(r, 404, "not_found")
    assert db_state(runtime) == before


@pytest.fixture
def sim(serve, settings, engine) -> Api:
    """A server of the test's own answering from a runtime whose clock is simulated (kept in the database)."""
    runtime = Runtime.build(dataclasses.replace(settings, simulated_clock=True), engine=engine)
    assert runtime.sim_clock is not None
    return serve(runtime)


def test_only_an_admin_moves_the_simulated_clock(sim):
    before = db_state(sim.runtime)
    for role in ("buyer", "merchant", "agent", "integration"):
        r = sim.as_(role).post("/v1/admin/clock", json={"advance_seconds": 3600})
        assert_problem(r, 403, "forbidden")
    assert_problem(sim.anonymous.post("/v1/admin/clock", json={"advance_seconds": 3600}), 401, "unauthenticated")
    assert db_state(sim.runtime) == before


def test_admin_advancing_48h_fires_auto_approve_of_a_pending_case(sim):
    feed_order(sim)
    case = file_case(sim)
    assert case["deadline"]["action"] == "auto_approve"
    admin = sim.as_("admin")

    # Just short of the deadline nothing fires.
    r = admin.post("/v1/admin/clock", json={"advance_seconds": 3600})
    assert r.status_code == 200 and r.json()["fired"] == 0, r.text

    r = admin.post("/v1/admin/clock", json={"advance_seconds": 172800 - 3600 + 1})
    assert r.status_code == 200, r.text
    body = r.json()
    # An approval waiting for the goods refunds nothing yet: no refund for the payments pass.
    assert set(body) == {"now", "fired", "refunds_submitted"} and (body["fired"], body["refunds_submitted"]) == (1, 0)
    assert datetime.fromisoformat(body["now"]) > datetime.fromisoformat(case["deadline"]["due_at"])
    after = sim.as_("buyer", "b-1").get(f"/v1/after-sales/{case['id']}").json()
    assert after["status"] == "awaiting_return"
    assert after["deadline"]["action"] == "auto_close"
    events = sim.as_("agent").get(f"/v1/after-sales/{case['id']}/events").json()["items"]
    assert [(e["action"], e["actor"]["role"]) for e in events] == [("file", "buyer"), ("auto_approve", "system")]
    fired_at = datetime.fromisoformat(events[-1]["at"])
    assert datetime.fromisoformat(case["deadline"]["due_at"]) < fired_at <= datetime.fromisoformat(body["now"])


def test_clock_advance_body_is_validated(sim):
    admin = sim.as_("admin")
    before = db_state(sim.runtime)
    for body in (
        {},
        {"advance_seconds": -1},
        {"advance_seconds": "60"},
        {"advance_seconds": 1.5},
        {"advance_seconds": 60, "extra": 1},
    ):
        assert_problem(admin.post("/v1/admin/clock", json=body), 422, "validation_error")
    assert db_state(sim.runtime) == before
