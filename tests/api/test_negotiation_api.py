"""协商, 延长时效 and 仅退款不退货 over real HTTP, time moved by the admin's simulated clock: an
offer and its answers, the lapse and the merchant's resumed deadline, the extension's limits,
keep_item, and the reject-reason catalogue."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from aftersales.runtime import Runtime
from api_builders import assert_problem, db_state, feed_order, file_case
from live_server import Api

H = 3600
M = 60  # just short of / past a deadline over HTTP: the simulated clock also runs in real time


@pytest.fixture
def sim(serve, settings, engine) -> Api:
    runtime = Runtime.build(dataclasses.replace(settings, simulated_clock=True), engine=engine)
    return serve(runtime)


def _advance(api: Api, seconds: int) -> int:
    r = api.as_("admin").post("/v1/admin/clock", json={"advance_seconds": seconds})
    assert r.status_code == 200, r.text
    return int(r.json()["fired"])


def _due(case: dict) -> datetime:
    return datetime.fromisoformat(case["deadline"]["due_at"])


def test_an_offer_accepted_refunds_the_offered_amount_and_the_timeline_has_both(sim):
    feed_order(sim)
    case = file_case(sim)
    merchant, buyer = sim.as_("merchant", merchant_id="m-1"), sim.as_("buyer", "b-1")
    r = merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 6000, "note": "补偿 60 元，无需退货"})
    assert r.status_code == 200, r.text
    offered = r.json()
    assert offered["status"] == "awaiting_buyer" and offered["deadline"]["action"] == "offer_lapsed"
    assert (offered["offer"]["amount"], offered["offer"]["note"]) == (6000, "补偿 60 元，无需退货")
    assert offered["offer"]["expires_at"] == offered["deadline"]["due_at"]
    seen = buyer.get(f"/v1/after-sales/{case['id']}").json()
    assert seen["actions"] == ["accept-offer", "decline-offer", "withdraw"]
    r = buyer.post(f"/v1/after-sales/{case['id']}/accept-offer")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["amount"], r.json()["offer"]) == ("refunded", 6000, None)
    refunds = buyer.get("/v1/refunds", params={"after_sale_id": case["id"]}).json()["items"]
    assert [x["amount"] for x in refunds] == [6000]
    events = buyer.get(f"/v1/after-sales/{case['id']}/events").json()["items"]
    assert [(e["action"], e["data"].get("amount")) for e in events] == [
        ("file", None),
        ("offer", 6000),
        ("accept_offer", 6000),
    ]


def test_an_offer_over_the_request_or_past_the_cap_is_refused_and_writes_nothing(sim):
    feed_order(sim)
    case = file_case(sim)
    merchant, buyer = sim.as_("merchant", merchant_id="m-1"), sim.as_("buyer", "b-1")
    before = db_state(sim.runtime)
    over = merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": case["amount"] + 1})
    assert_problem(over, 422, "amount_exceeds_refundable")
    assert_problem(merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 0}), 422, "validation_error")
    assert db_state(sim.runtime) == before
    for _ in range(3):
        assert merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 100}).status_code == 200
        assert buyer.post(f"/v1/after-sales/{case['id']}/decline-offer").status_code == 200
    assert_problem(
        merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 100}), 409, "offer_limit_reached"
    )


def test_an_unanswered_offer_lapses_at_48h_and_the_merchant_keeps_only_what_it_had_left(sim):
    feed_order(sim)
    case = file_case(sim)
    merchant = sim.as_("merchant", merchant_id="m-1")
    _advance(sim, 40 * H)  # 8 h left for the merchant
    offered = merchant.post(f"/v1/after-sales/{case['id']}/offer", json={"amount": 5000}).json()
    assert _advance(sim, 48 * H - M) == 0
    assert _advance(sim, 2 * M) == 1
    back = merchant.get(f"/v1/after-sales/{case['id']}").json()
    assert (back["status"], back["deadline"]["action"], back["offer"]) == ("pending_merchant", "auto_approve", None)
    # 8 h from the lapse's firing (M past the offer's deadline), not a fresh 48 h
    assert timedelta(hours=8) < _due(back) - _due(offered) <= timedelta(hours=8, seconds=M)
    assert _advance(sim, 8 * H - 2 * M) == 0
    assert _advance(sim, 2 * M) == 1
    assert merchant.get(f"/v1/after-sales/{case['id']}").json()["status"] == "awaiting_return"


def test_an_extension_moves_the_deadline_once_and_fires_at_its_new_time(sim):
    feed_order(sim)
    case = file_case(sim, type="refund_only", reason="damaged")
    merchant = sim.as_("merchant", merchant_id="m-1")
    path = f"/v1/after-sales/{case['id']}/extend"
    assert_problem(merchant.post(path, json={"hours": 73, "reason": "等待质检"}), 422, "extension_out_of_bounds")
    assert_problem(merchant.post(path, json={"hours": 0, "reason": "等待质检"}), 422, "validation_error")
    r = merchant.post(path, json={"hours": 72, "reason": "等待质检"})
    assert r.status_code == 200, r.text
    extended = r.json()
    assert _due(extended) == _due(case) + timedelta(hours=72)
    assert (extended["extension"]["hours"], extended["extension"]["to"]) == (72, extended["deadline"]["due_at"])
    assert_problem(merchant.post(path, json={"hours": 1, "reason": "再延"}), 409, "extension_used")
    assert _advance(sim, 120 * H - M) == 0
    assert _advance(sim, 2 * M) == 1
    assert merchant.get(f"/v1/after-sales/{case['id']}").json()["status"] == "refunded"


def test_approve_keep_item_refunds_a_return_without_the_goods_but_not_an_exchange(sim):
    feed_order(sim, "o-1001")
    feed_order(sim, "o-1002")
    returned, exchange = file_case(sim, "o-1001"), file_case(sim, "o-1002", type="exchange", reason="wrong_item")
    merchant = sim.as_("merchant", merchant_id="m-1")
    r = merchant.post(f"/v1/after-sales/{returned['id']}/approve", json={"keep_item": True})
    assert (r.status_code, r.json()["status"]) == (200, "refunded"), r.text
    r = merchant.post(f"/v1/after-sales/{exchange['id']}/approve", json={"keep_item": True, "return_address": "杭州"})
    assert_problem(r, 422, "validation_error")


def test_reject_reasons_are_listed_and_one_that_needs_evidence_needs_it(sim):
    reasons = sim.as_("merchant", merchant_id="m-1").get("/v1/reasons").json()["reject_reasons"]
    by_code = {x["code"]: x for x in reasons}
    assert {
        "goods_not_returned",
        "buyer_damaged",
        "already_shipped",
        "no_quality_issue",
        "beyond_period",
        "other",
    } <= set(by_code)
    assert by_code["buyer_damaged"]["evidence_required"] is True and by_code["other"]["evidence_required"] is False
    feed_order(sim)
    case = file_case(sim)
    merchant = sim.as_("merchant", merchant_id="m-1")
    path = f"/v1/after-sales/{case['id']}/reject"
    assert_problem(merchant.post(path, json={"reason": "buyer_damaged"}), 422, "evidence_required")
    assert_problem(merchant.post(path, json={"reason": "too_busy"}), 422, "validation_error")
    assert merchant.post(path, json={"reason": "other", "note": "见聊天记录"}).json()["status"] == "rejected"
