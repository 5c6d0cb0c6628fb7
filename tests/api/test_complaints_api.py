"""Complaints over HTTP: who may file, see and act; bad input changes nothing."""

from api_builders import assert_problem, db_state, feed_order


def _complaint(api, **over):
    body = {"category": "service_attitude", "description": "客服态度恶劣", "merchant_id": "m-1", **over}
    r = api.as_("buyer", "b-1").post("/v1/complaints", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_buyer_complains_about_an_order_and_the_merchant_answers(api):
    feed_order(api)
    c = _complaint(api, order_id="o-1001", merchant_id=None)
    assert (c["merchant_id"], c["status"], c["actions"]) == ("m-1", "awaiting_reply", ["withdraw"])
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.post(f"/v1/complaints/{c['id']}/reply", json={"reply": "抱歉，已培训客服"})
    assert r.status_code == 200 and r.json()["status"] == "awaiting_solution"
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    assert [x["id"] for x in merchant.get("/v1/complaints").json()["items"]] == [c["id"]]
    events = api.as_("agent").get(f"/v1/complaints/{c['id']}/events").json()["items"]
    assert [e["action"] for e in events] == ["file", "reply"]


def test_others_see_nothing_and_roles_are_held_to_their_steps(api):
    c = _complaint(api)
    assert_problem(api.as_("buyer", "b-2").get(f"/v1/complaints/{c['id']}"), 404, "not_found")
    assert_problem(
        api.as_("merchant", merchant_id="m-2").post(f"/v1/complaints/{c['id']}/reply", json={"reply": "x"}),
        404,
        "not_found",
    )
    assert_problem(
        api.as_("buyer", "b-1").post(f"/v1/complaints/{c['id']}/reply", json={"reply": "x"}), 403, "forbidden"
    )
    assert_problem(api.as_("integration", "marketplace").get("/v1/complaints"), 403, "forbidden")
    assert_problem(api.anonymous.get("/v1/complaints"), 401, "unauthenticated")
    assert api.as_("buyer", "b-2").get("/v1/complaints").json()["items"] == []


def test_a_merchant_complains_to_the_platform_and_the_buyer_never_sees_it(api):
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.post("/v1/complaints", json={"category": "buyer_abuse", "description": "恶意差评", "buyer_id": "b-1"})
    assert r.status_code == 201 and r.json()["status"] == "under_review"
    assert api.as_("buyer", "b-1").get("/v1/complaints").json()["items"] == []
    decided = api.as_("agent").post(
        f"/v1/complaints/{r.json()['id']}/decide", json={"decision": "upheld", "rationale": "聊天记录显示勒索"}
    )
    assert decided.status_code == 200 and decided.json()["status"] == "decided"


def test_bad_input_is_a_422_and_writes_nothing(api, runtime):
    buyer = api.as_("buyer", "b-1")
    before = db_state(runtime)
    for body in [
        {},
        {"category": "buyer_abuse", "description": "x", "merchant_id": "m-1"},
        {"category": "service_attitude", "description": "", "merchant_id": "m-1"},
        {"category": "service_attitude", "description": "x"},
        {"category": "service_attitude", "description": "x", "merchant_id": "m-1", "extra": 1},
    ]:
        assert_problem(buyer.post("/v1/complaints", json=body), 422, "validation_error")
    order_404 = {"category": "service_attitude", "description": "x", "order_id": "o-404"}
    assert_problem(buyer.post("/v1/complaints", json=order_404), 404, "not_found")
    c = _complaint(api)
    after_filing = db_state(runtime)
    assert_problem(
        api.as_("agent").post(f"/v1/complaints/{c['id']}/decide", json={"decision": "maybe"}), 422, "validation_error"
    )
    assert_problem(
        api.as_("agent").post(f"/v1/complaints/{c['id']}/decide", json={"decision": "upheld", "rationale": "x"}),
        409,
        "illegal_transition",
    )
    assert db_state(runtime) == after_filing != before
