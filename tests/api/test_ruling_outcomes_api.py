"""The second wave's rulings over HTTP: an order naming its creator 达人, a creator held liable and
the settlement saying who bears it, a return_refund ruling walked to its refund, and bad input."""

from __future__ import annotations

import pytest

from api_builders import assert_problem, db_state, feed_order, file_case
from bodies import order_body

ADDRESS = "杭州市西湖区文三路 1 号 退货组"


def _dispute(api, type_="refund_only"):
    case = file_case(api, type=type_)
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    return case["id"], r.json()["dispute_id"]


def test_a_creator_held_liable_bears_the_refund_in_the_settlements(api):
    order = feed_order(api, creator="creator-9")
    assert order["creator_id"] == "creator-9"
    case_id, dispute_id = _dispute(api)
    agent, merchant = api.as_("agent", "agent-1"), api.as_("merchant", merchant_id="m-1")
    r = agent.post(
        f"/v1/disputes/{dispute_id}/rule",
        json={"outcome": "refund", "liable_party": "creator", "rationale": "主播夸大宣传"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["ruling"]["liable_party"] == "creator"
    assert merchant.get(f"/v1/after-sales/{case_id}").json()["status"] == "refunded"
    settlements = merchant.get("/v1/settlements").json()["items"]
    assert [(s["direction"], s["bearer"], s["creator_id"], s["amount"]) for s in settlements] == [
        ("platform_to_merchant", "creator", "creator-9", 19800)
    ]
    assert merchant.get("/v1/merchants/m-1/standing").json()["active_points"] == 0


def test_a_return_refund_ruling_is_walked_to_its_refund(api):
    feed_order(api)
    case_id, dispute_id = _dispute(api, type_="exchange")
    agent, merchant, buyer = api.as_("agent"), api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")
    body = {"outcome": "return_refund", "liable_party": "merchant", "amount": 15000, "rationale": "退货退款"}
    assert_problem(agent.post(f"/v1/disputes/{dispute_id}/rule", json=body), 422, "validation_error")
    r = agent.post(f"/v1/disputes/{dispute_id}/rule", json={**body, "return_address": ADDRESS})
    assert r.status_code == 200, r.text
    assert r.json()["ruling"]["outcome"] == "return_refund" and r.json()["ruling"]["amount"] == 15000
    case = buyer.get(f"/v1/after-sales/{case_id}").json()
    assert (case["status"], case["ruled_amount"], case["return_address"]) == ("awaiting_return", 15000, ADDRESS)
    assert case["deadline"]["action"] == "auto_close" and case["actions"] == ["ship-return", "withdraw"]
    shipped = buyer.post(f"/v1/after-sales/{case_id}/ship-return", json={"carrier": "ZTO", "tracking_number": "ZT9"})
    assert shipped.status_code == 200, shipped.text
    assert "dispute-return" not in merchant.get(f"/v1/after-sales/{case_id}").json()["actions"]
    done = merchant.post(f"/v1/after-sales/{case_id}/confirm-receipt", json={})
    assert done.status_code == 200 and done.json()["status"] == "refunded", done.text
    assert [r["amount"] for r in merchant.get("/v1/refunds", params={"after_sale_id": case_id}).json()["items"]] == [
        15000
    ]
    # Both parties may appeal a return_refund: the buyer shipped its goods back for its money.
    assert "appeal" in buyer.get(f"/v1/disputes/{dispute_id}").json()["actions"]


@pytest.mark.parametrize("creator", ["", "x" * 65, "达人", "a b"])
def test_an_order_creator_is_a_bounded_id(api, runtime, creator):
    before = db_state(runtime)
    r = api.as_("integration", "marketplace").post("/v1/orders", json={**order_body(), "creator_id": creator})
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "refund", "liable_party": "creator", "rationale": "x"},  # the order names no creator
        {"outcome": "refund", "liable_party": "both", "rationale": "x"},  # a shared fault refunds a part
        {"outcome": "deny", "liable_party": "creator", "rationale": "x"},
        {"outcome": "return_refund", "liable_party": "merchant", "rationale": "x", "return_address": "x" * 501},
        {
            "outcome": "return_refund",
            "liable_party": "merchant",
            "rationale": "x",
            "amount": 19801,
            "return_address": "x",
        },
    ],
)
def test_inconsistent_new_rulings_are_a_422_and_change_nothing(api, runtime, body):
    feed_order(api)
    _, dispute_id = _dispute(api)
    before = db_state(runtime)
    assert_problem(api.as_("agent").post(f"/v1/disputes/{dispute_id}/rule", json=body), 422, "validation_error")
    assert db_state(runtime) == before
