"""Disputes over HTTP: every action by every role and tenant, and bad input on each endpoint."""

from __future__ import annotations

import pytest

from api_builders import assert_problem, db_state, feed_order, file_case


def _dispute(api):
    feed_order(api)
    case = file_case(api)
    assert (
        api.as_("merchant", merchant_id="m-1")
        .post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"})
        .status_code
        == 200
    )
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    return r.json()["dispute_id"]


RULE = {"outcome": "refund", "liable_party": "merchant", "rationale": "支持买家"}
# (method, path template, body, role -> expected status)
MATRIX = [
    (
        "get",
        "/v1/disputes/{d}",
        None,
        {"buyer": 200, "merchant": 200, "agent": 200, "admin": 200, "other_buyer": 404, "other_merchant": 404},
    ),
    ("get", "/v1/disputes", None, {"buyer": 403, "merchant": 403, "agent": 200, "admin": 200}),
    (
        "post",
        "/v1/disputes/{d}/evidence",
        {"statement": "补充"},
        {"buyer": 200, "merchant": 200, "agent": 403, "other_buyer": 404, "other_merchant": 404},
    ),
    (
        "post",
        "/v1/disputes/{d}/request-evidence",
        {"party": "buyer"},
        {"buyer": 403, "merchant": 403, "agent": 200, "admin": 200},
    ),
    ("post", "/v1/disputes/{d}/notes", {"body": "内部备注"}, {"buyer": 403, "merchant": 403, "agent": 201}),
    ("get", "/v1/disputes/{d}/notes", None, {"buyer": 403, "merchant": 403, "agent": 200}),
    ("post", "/v1/disputes/{d}/rule", RULE, {"buyer": 403, "merchant": 403, "admin": 403, "agent": 200}),
]
ROLES = {
    "buyer": ("buyer", "b-1", None),
    "merchant": ("merchant", None, "m-1"),
    "agent": ("agent", "agent-1", None),
    "admin": ("admin", "admin-1", None),
    "other_buyer": ("buyer", "b-2", None),
    "other_merchant": ("merchant", None, "m-2"),
}
CASES = [(m, p, b, who, status) for m, p, b, expect in MATRIX for who, status in expect.items()]


@pytest.mark.parametrize("method,path,body,who,status", CASES, ids=[f"{m} {p} as {w}" for m, p, _, w, _ in CASES])
def test_each_dispute_action_by_each_role_and_tenant(api, method, path, body, who, status):
    dispute_id = _dispute(api)
    role, sub, merchant_id = ROLES[who]
    client = api.as_(role, sub, merchant_id=merchant_id)
    url = path.format(d=dispute_id)
    r = client.get(url) if method == "get" else client.post(url, json=body)
    assert r.status_code == status, r.text
    if status >= 400:
        assert_problem(r, status)


def test_without_a_token_everything_is_401(api):
    dispute_id = _dispute(api)
    for url in [f"/v1/disputes/{dispute_id}", "/v1/disputes", "/v1/agents"]:
        assert_problem(api.anonymous.get(url), 401, "unauthenticated")
    assert_problem(api.anonymous.post(f"/v1/disputes/{dispute_id}/rule", json=RULE), 401, "unauthenticated")


@pytest.mark.parametrize(
    "path,body",
    [
        ("/v1/disputes/{d}/rule", {"outcome": "maybe", "liable_party": "merchant", "rationale": "x"}),
        ("/v1/disputes/{d}/rule", {"outcome": "refund", "liable_party": "merchant", "rationale": ""}),
        (
            "/v1/disputes/{d}/rule",
            {"outcome": "partial_refund", "amount": -5, "liable_party": "merchant", "rationale": "x"},
        ),
        (
            "/v1/disputes/{d}/rule",
            {"outcome": "partial_refund", "amount": "5", "liable_party": "merchant", "rationale": "x"},
        ),
        ("/v1/disputes/{d}/rule", {"outcome": "deny", "liable_party": "merchant", "rationale": "x"}),
        ("/v1/disputes/{d}/request-evidence", {"party": "platform"}),
        ("/v1/disputes/{d}/assign", {"agent_id": "ghost"}),
        ("/v1/disputes/{d}/notes", {"body": ""}),
    ],
)
def test_bad_input_is_a_422_and_changes_nothing(api, runtime, path, body):
    dispute_id = _dispute(api)
    before = db_state(runtime)
    assert_problem(api.as_("agent").post(path.format(d=dispute_id), json=body), 422, "validation_error")
    assert db_state(runtime) == before


def test_appeals_are_visible_to_the_appellant_and_decided_by_another_agent(api):
    dispute_id = _dispute(api)
    agent1, agent2 = api.as_("agent", "agent-1"), api.as_("agent", "agent-2")
    assert agent1.post(f"/v1/disputes/{dispute_id}/rule", json=RULE).status_code == 200
    merchant = api.as_("merchant", merchant_id="m-1")
    assert_problem(
        api.as_("buyer", "b-1").post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "x"}), 403, "not_appellant"
    )
    appeal = merchant.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "买家已使用"})
    assert appeal.status_code == 201, appeal.text
    appeal_id = appeal.json()["id"]
    assert [a["status"] for a in merchant.get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]] == ["pending"]
    assert_problem(api.as_("merchant", merchant_id="m-2").get(f"/v1/appeals/{appeal_id}"), 404)
    assert_problem(
        agent1.post(f"/v1/appeals/{appeal_id}/decide", json={"decision": "overturn", "rationale": "x"}),
        403,
        "same_agent",
    )
    assert_problem(
        merchant.post(f"/v1/appeals/{appeal_id}/decide", json={"decision": "overturn", "rationale": "x"}), 403
    )
    decided = agent2.post(f"/v1/appeals/{appeal_id}/decide", json={"decision": "overturn", "rationale": "已使用"})
    assert decided.status_code == 200 and decided.json()["status"] == "overturned"
    assert merchant.get(f"/v1/appeals/{appeal_id}").json()["status"] == "overturned"
    standing = merchant.get("/v1/merchants/m-1/standing").json()
    assert standing["active_points"] == 0
    settlements = merchant.get("/v1/settlements").json()["items"]
    assert [(s["direction"], s["amount"]) for s in settlements] == [("platform_to_merchant", 19800)]
    assert_problem(api.as_("buyer", "b-1").get("/v1/settlements"), 403)


def test_agents_record_warnings_and_penalties_merchants_see_their_own(api):
    agent = api.as_("agent")
    r = agent.post("/v1/merchants/m-1/violations", json={"kind": "warning", "cause": "不配合平台核查 警示"})
    assert r.status_code == 201, r.text
    r = agent.post(
        "/v1/merchants/m-1/violations",
        json={"kind": "penalty", "points": 6, "amount": 50000, "currency": "CNY", "cause": "虚假发货 处罚"},
    )
    assert r.status_code == 201
    assert_problem(agent.post("/v1/merchants/m-1/violations", json={"kind": "penalty", "cause": "no money"}), 422)
    assert_problem(
        api.as_("merchant", merchant_id="m-1").post(
            "/v1/merchants/m-1/violations", json={"kind": "warning", "cause": "self"}
        ),
        403,
    )
    mine = api.as_("merchant", merchant_id="m-1")
    assert [v["kind"] for v in mine.get("/v1/merchants/m-1/violations").json()["items"]] == ["warning", "penalty"]
    assert mine.get("/v1/merchants/m-1/standing").json()["restrictions"] == ["warning_banner"]
    assert_problem(api.as_("merchant", merchant_id="m-2").get("/v1/merchants/m-1/standing"), 404)


def test_disputes_and_appeals_list_only_what_their_caller_may_do(api):
    """`actions` is computed for the caller, never just the role: nothing listed answers 403."""
    dispute_id = _dispute(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    agent1, agent2 = api.as_("agent", "agent-1"), api.as_("agent", "agent-2")
    assert buyer.get(f"/v1/disputes/{dispute_id}").json()["actions"] == ["evidence"]
    assert agent1.get(f"/v1/disputes/{dispute_id}").json()["actions"] == ["assign", "request-evidence", "rule"]
    assert agent1.post(f"/v1/disputes/{dispute_id}/rule", json=RULE).status_code == 200
    # A full refund against the merchant: only the merchant may appeal it.
    assert buyer.get(f"/v1/disputes/{dispute_id}").json()["actions"] == []
    assert merchant.get(f"/v1/disputes/{dispute_id}").json()["actions"] == ["appeal"]
    filed = merchant.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "买家已使用"})
    assert filed.status_code == 201 and filed.json()["actions"] == []
    appeal_id = filed.json()["id"]
    # The agent who ruled may not decide the appeal, so it is not offered to it.
    assert agent1.get(f"/v1/appeals/{appeal_id}").json()["actions"] == []
    assert agent2.get(f"/v1/appeals/{appeal_id}").json()["actions"] == ["decide"]
    assert [a["actions"] for a in agent2.get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]] == [["decide"]]
    assert merchant.get(f"/v1/appeals/{appeal_id}").json()["actions"] == []
    decided = agent2.post(f"/v1/appeals/{appeal_id}/decide", json={"decision": "uphold", "rationale": "维持"})
    assert decided.status_code == 200 and decided.json()["actions"] == []
