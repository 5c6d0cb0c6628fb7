"""An appeal and a new request on the same order: no new request while a dispute about the order
is unsettled, and no appeal is ever left undecidable (an overturn pays at most what is left)."""

from __future__ import annotations

from datetime import timedelta

from aftersales.services import refunds
from api_builders import assert_problem, case_body, db_state, feed_order, file_case, race
from builders import World

GOODS = 19800  # two 9900 teas; the 1000 shipping is not refundable under douyin@1
DENY = {"outcome": "deny", "liable_party": "buyer", "rationale": "证据不足"}


def _ruled(api, ruling, order_id="o-1001", **case_over):
    """A request refused by the merchant, escalated by the buyer and ruled by agent-1."""
    case = file_case(api, order_id, **case_over)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200, r.text
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    dispute_id = r.json()["dispute_id"]
    r = api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=ruling)
    assert r.status_code == 200, r.text
    return case["id"], dispute_id


def _appeal(api, dispute_id):
    r = api.as_("buyer", "b-1").post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "补充了开箱视频"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _overturn(api, appeal_id):
    return api.as_("agent", "agent-2").post(
        f"/v1/appeals/{appeal_id}/decide", json={"decision": "overturn", "rationale": "视频证明受潮"}
    )


def _refunded(api, order_id="o-1001"):
    return sum(r["amount"] for r in api.as_("agent").get("/v1/refunds", params={"order_id": order_id}).json()["items"])


def test_no_new_request_while_the_ruling_is_open_to_appeal_or_appealed(api, runtime):
    """The sequence that used to leave an appeal undecidable now stops at the new request."""
    feed_order(api)
    _case_id, dispute_id = _ruled(api, DENY)
    buyer = api.as_("buyer", "b-1")
    refund_only = case_body(type="refund_only", reason="not_as_described")
    for step in ("ruled", "appealed"):
        if step == "appealed":
            appeal_id = _appeal(api, dispute_id)
        before = db_state(runtime)
        problem = assert_problem(buyer.post("/v1/after-sales", json=refund_only), 409, "dispute_pending")
        assert problem["dispute_id"] == dispute_id and problem["dispute_status"] == step
        assert db_state(runtime) == before
    decided = _overturn(api, appeal_id)
    assert decided.status_code == 200 and decided.json()["status"] == "overturned", decided.text
    assert _refunded(api) == GOODS
    # Settled now: the order may take a new request, and there is nothing left to refund on it.
    assert_problem(buyer.post("/v1/after-sales", json=refund_only), 409, "nothing_refundable")


def test_a_request_filed_once_the_ruling_is_final_and_its_own_overturn_stay_within_what_was_paid(api, clock, runtime):
    feed_order(api)
    _ruled(api, {"outcome": "partial_refund", "amount": 5000, "liable_party": "merchant", "rationale": "部分受潮"})
    World(runtime, clock).advance(days=7, seconds=1)  # nobody appealed: the ruling is final
    second = file_case(api, type="refund_only", reason="not_as_described")
    assert second["amount"] == GOODS - 5000
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{second['id']}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200, r.text
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{second['id']}/escalate", json={"statement": "请介入"})
    dispute_id = r.json()["dispute_id"]
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=DENY).status_code == 200
    decided = _overturn(api, _appeal(api, dispute_id))
    assert decided.status_code == 200, decided.text
    assert _refunded(api) == GOODS


def test_an_overturn_pays_only_what_is_left_and_records_the_rest_as_settled_elsewhere(api, runtime):
    """Second line of defence: if the order was refunded by another path meanwhile, the appeal is
    still decided; it pays what is left, never more than was paid, and says how much it did not."""
    feed_order(api)
    case_id, dispute_id = _ruled(api, DENY)
    appeal_id = _appeal(api, dispute_id)
    # Money the filing rule did not foresee: 15 000 refunded on the order by another path.
    with runtime.uow() as uow:
        order = uow.orders.get("o-1001")
        refunds.issue(uow, order, amount=15000, method="original_payment", now=runtime.env.clock.now())
        uow.orders.save(order, order.version)
        uow.commit()
    decided = _overturn(api, appeal_id)
    assert decided.status_code == 200 and decided.json()["status"] == "overturned", decided.text
    assert _refunded(api) == GOODS
    agent = api.as_("agent")
    assert agent.get(f"/v1/after-sales/{case_id}").json()["status"] == "refunded"
    decide = [e for e in agent.get(f"/v1/disputes/{dispute_id}/events").json()["items"] if e["action"] == "decide"]
    assert (decide[0]["data"]["refund_amount"], decide[0]["data"]["settled_elsewhere"]) == (GOODS - 15000, 15000)
    ruling = agent.get(f"/v1/disputes/{dispute_id}").json()["ruling"]
    assert (ruling["outcome"], ruling["amount"], ruling["liable_party"]) == ("refund", GOODS - 15000, "merchant")


def test_an_overturn_with_nothing_left_to_pay_still_decides_the_appeal(api, runtime):
    feed_order(api)
    case_id, dispute_id = _ruled(api, DENY)
    appeal_id = _appeal(api, dispute_id)
    with runtime.uow() as uow:
        order = uow.orders.get("o-1001")
        refunds.issue(uow, order, amount=GOODS, method="original_payment", now=runtime.env.clock.now())
        uow.orders.save(order, order.version)
        uow.commit()
    decided = _overturn(api, appeal_id)
    assert decided.status_code == 200 and decided.json()["status"] == "overturned", decided.text
    assert _refunded(api) == GOODS
    agent = api.as_("agent")
    assert agent.get(f"/v1/disputes/{dispute_id}").json()["status"] == "final"
    assert agent.get(f"/v1/after-sales/{case_id}").json()["status"] == "closed"
    decide = [e for e in agent.get(f"/v1/disputes/{dispute_id}/events").json()["items"] if e["action"] == "decide"]
    assert decide[0]["data"]["settled_elsewhere"] == GOODS and "refund_id" not in decide[0]["data"]
    # A buyer who wins an appeal still does not pay back, and the merchant is still liable.
    assert api.as_("merchant", merchant_id="m-1").get("/v1/merchants/m-1/standing").json()["active_points"] > 0


def test_arbitration_of_an_older_request_waits_for_the_order_s_open_request_and_unsettled_dispute(api, runtime):
    """Arbitration may refund the order too: the same rule as for a new request."""
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    withdrawn = file_case(api)
    assert buyer.post(f"/v1/after-sales/{withdrawn['id']}/withdraw", json={}).status_code == 200
    arbitrate = {"after_sale_id": withdrawn["id"], "statement": "申请仲裁"}
    _case_id, dispute_id = _ruled(api, DENY)  # a second request, refused, escalated and denied
    before = db_state(runtime)
    problem = assert_problem(buyer.post("/v1/arbitrations", json=arbitrate), 409, "dispute_pending")
    assert problem["dispute_id"] == dispute_id
    assert db_state(runtime) == before
    decided = _overturn(api, _appeal(api, dispute_id))
    assert decided.status_code == 200, decided.text
    assert _refunded(api) == GOODS


def test_arbitration_is_refused_while_another_request_on_the_order_is_open(api, runtime):
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    withdrawn = file_case(api)
    assert buyer.post(f"/v1/after-sales/{withdrawn['id']}/withdraw", json={}).status_code == 200
    open_case = file_case(api, type="refund_only", reason="not_as_described")
    before = db_state(runtime)
    problem = assert_problem(
        buyer.post("/v1/arbitrations", json={"after_sale_id": withdrawn["id"], "statement": "申请仲裁"}),
        409,
        "case_already_open",
    )
    assert problem["open_case_id"] == open_case["id"]
    assert db_state(runtime) == before


def test_once_the_appeal_window_lapsed_a_new_request_is_taken_before_the_worker_finalizes(api):
    """Nobody may appeal any more, so the ruling is settled: the worker being late changes nothing."""
    feed_order(api)
    _case_id, dispute_id = _ruled(api, DENY)
    api.clock.advance(timedelta(days=7, seconds=1))
    assert api.as_("agent").get(f"/v1/disputes/{dispute_id}").json()["status"] == "ruled"
    assert_problem(
        api.as_("buyer", "b-1").post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "晚了"}),
        409,
        "deadline_passed",
    )
    assert file_case(api, type="refund_only", reason="not_as_described")["amount"] == GOODS


def test_an_arbitration_and_a_new_request_racing_on_one_order_get_one_winner(api):
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    withdrawn = file_case(api)
    assert buyer.post(f"/v1/after-sales/{withdrawn['id']}/withdraw", json={}).status_code == 200
    arbitrate = {"after_sale_id": withdrawn["id"], "statement": "申请仲裁"}
    refund_only = case_body(type="refund_only", reason="not_as_described")
    results = race(
        [
            lambda: buyer.post("/v1/arbitrations", json=arbitrate),
            lambda: buyer.post("/v1/after-sales", json=refund_only),
        ]
    )
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert_problem(next(r for r in results if r.status_code == 409), 409)
