"""The OpenAPI description declares what the API really answers: problem responses with their
statuses and media type, and evidence content in the types it is served as (regressions found
by the Schemathesis run)."""

from __future__ import annotations

import io

import jsonschema_rs

from aftersales.domain.media import MEDIA_TYPES
from api_builders import order_body


def _operation(api, method: str, path: str) -> dict:
    return api.anonymous.get("/openapi.json").json()["paths"][path][method]


def _problem_schema(spec: dict, operation: dict, status: int) -> dict:
    content = operation["responses"][str(status)]["content"]
    assert list(content) == ["application/problem+json"]
    ref = content["application/problem+json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_problem_responses_are_declared_as_problem_json_and_real_ones_fit(api):
    spec = api.anonymous.get("/openapi.json").json()
    get_case = spec["paths"]["/v1/after-sales/{case_id}"]["get"]
    approve = spec["paths"]["/v1/after-sales/{subject_id}/approve"]["post"]
    assert {"401", "403", "404", "422", "503"} <= get_case["responses"].keys()
    assert {"401", "403", "404", "409", "412", "422", "503"} <= approve["responses"].keys()
    # FastAPI's own validation-error shape is not what we send, so it is not declared anywhere.
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["paths"]["/healthz"]["get"]["responses"].keys() == {"200", "503"}  # a health report, not a problem
    real = [
        (api.anonymous.get("/v1/after-sales/as_x"), get_case, 401),
        (api.as_("agent").get("/v1/after-sales/as_x"), get_case, 404),
        (api.as_("buyer", "b-1").post("/v1/after-sales/as_x/approve", json={"nope": 1}), approve, 422),
        (api.as_("buyer", "b-1").post("/v1/orders", json=order_body()), spec["paths"]["/v1/orders"]["post"], 403),
    ]
    for response, operation, status in real:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        jsonschema_rs.validate(_problem_schema(spec, operation, status), response.json())


def test_evidence_content_is_declared_in_every_type_it_is_served_as(api):
    declared = _operation(api, "get", "/v1/evidence/{evidence_id}/content")["responses"]["200"]["content"]
    assert set(declared) == set(MEDIA_TYPES)
    buyer = api.as_("buyer", "b-1")
    up = buyer.post(
        "/v1/evidence", files={"file": ("chat.txt", io.BytesIO("聊天记录".encode()))}, data={"kind": "chat_record"}
    )
    assert up.status_code == 201, up.text
    r = buyer.get(f"/v1/evidence/{up.json()['id']}/content")
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] in declared


def _declared(spec: dict, method: str, path: str, status: int) -> dict:
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    assert "$ref" in schema, f"{method} {path} declares no response shape"
    return {"$ref": schema["$ref"], "components": spec["components"]}


def test_success_responses_fit_the_shapes_the_openapi_declares(api):
    """Orders, cases, disputes, complaints, timelines and pages are declared, not `{}`, and what
    the API sends fits them (statuses included) at every step of a dispute."""
    from api_builders import feed_order, file_case

    spec = api.anonymous.get("/openapi.json").json()
    feed_order(api)
    case = file_case(api, type="refund_only", reason="damaged")
    buyer, merchant, agent = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1"), api.as_("agent")
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    escalated = buyer.post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    dispute_id = escalated.json()["dispute_id"]
    ruled = agent.post(
        f"/v1/disputes/{dispute_id}/rule",
        json={"outcome": "refund", "liable_party": "merchant", "rationale": "商家责任"},
    )
    complaint = buyer.post(
        "/v1/complaints", json={"category": "induced_review", "description": "好评返现", "merchant_id": "m-1"}
    )
    checks = [
        ("get", "/v1/orders", 200, agent.get("/v1/orders")),
        ("get", "/v1/orders/{order_id}", 200, buyer.get("/v1/orders/o-1001")),
        ("get", "/v1/orders/{order_id}/events", 200, buyer.get("/v1/orders/o-1001/events")),
        ("post", "/v1/after-sales/{subject_id}/escalate", 200, escalated),
        ("get", "/v1/after-sales", 200, merchant.get("/v1/after-sales")),
        ("get", "/v1/after-sales/{case_id}", 200, buyer.get(f"/v1/after-sales/{case['id']}")),
        ("get", "/v1/after-sales/{case_id}/events", 200, agent.get(f"/v1/after-sales/{case['id']}/events")),
        ("post", "/v1/disputes/{subject_id}/rule", 200, ruled),
        ("get", "/v1/disputes", 200, agent.get("/v1/disputes")),
        ("get", "/v1/disputes/{dispute_id}", 200, buyer.get(f"/v1/disputes/{dispute_id}")),
        ("post", "/v1/complaints", 201, complaint),
        ("get", "/v1/complaints", 200, merchant.get("/v1/complaints")),
    ]
    for method, path, status, response in checks:
        assert response.status_code == status, (path, response.text)
        jsonschema_rs.validate(_declared(spec, method, path, status), response.json())


def test_if_match_is_refused_exactly_when_it_breaks_its_declared_pattern(api, runtime):
    """Regression: "²" passed str.isdigit() and failed in int() (a 500); '""1""' broke the declared
    pattern yet was taken as version 1 (Schemathesis: "schema-violating request accepted")."""
    import re

    from api_builders import assert_problem, db_state, feed_order, file_case

    feed_order(api)
    case = file_case(api)
    declared = _operation(api, "post", "/v1/after-sales/{subject_id}/approve")["parameters"]
    assert {"Idempotency-Key", "If-Match"} <= {p["name"] for p in declared}
    pattern = next(p for p in declared if p["name"] == "If-Match")["schema"]["pattern"]
    merchant = api.as_("merchant", merchant_id="m-1")
    before = db_state(runtime)
    stale = ['"7"', 'W/"7"', "7", '"7', "000000000000000007"]
    broken = ["\u00b2", "\u0661", '"' + "9" * 5000 + '"', 'W/"1 2"', '""1""', "W/W/1", "1,2", "9" * 19, ""]
    for value in stale + broken:
        assert (re.fullmatch(pattern, value) is not None) == (value in stale), value
        r = merchant.post(
            f"/v1/after-sales/{case['id']}/approve",
            json={"return_address": "杭州"},
            headers={"If-Match": value.encode("utf-8")},
        )
        assert_problem(r, 412 if value in stale else 422)
    assert db_state(runtime) == before


def test_the_document_is_valid_openapi(api):
    from openapi_spec_validator import validate

    validate(api.anonymous.get("/openapi.json").json())


def test_integral_floats_are_the_integers_they_name_and_other_numbers_are_refused(api, runtime):
    """docs/api.md "Numbers": 100.0 is 100 (what JavaScript sends for a whole number), stored as an
    int; 100.5, true and "100" are 422 and change nothing."""
    from api_builders import assert_problem, db_state, feed_order
    from bodies import order_body

    market = api.as_("integration", "marketplace")
    body = order_body("o-2001")
    body["shipping_fee"] = 800.0
    body["items"][0] |= {"quantity": float(body["items"][0]["quantity"]), "unit_price": 9900.0}
    made = market.post("/v1/orders", json=body)
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["shipping_fee"] == 800 and type(order["shipping_fee"]) is int
    assert type(order["items"][0]["unit_price"]) is int and type(order["total"]) is int
    feed_order(api)
    before = db_state(runtime)
    for wrong in (100.5, True, "100", 1e300):
        r = api.as_("buyer", "b-1").post(
            "/v1/after-sales", json={"order_id": "o-1001", "type": "refund_only", "reason": "damaged", "amount": wrong}
        )
        assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before
    filed = api.as_("buyer", "b-1").post(
        "/v1/after-sales", json={"order_id": "o-1001", "type": "refund_only", "reason": "damaged", "amount": 100.0}
    )
    assert filed.status_code == 201 and filed.json()["amount"] == 100 and type(filed.json()["amount"]) is int


def test_cursors_are_declared_with_the_exact_pattern_the_service_takes(api):
    """Every value matching a cursor's declared pattern is answered 200 (a bound, maybe past every
    row), one breaking it 422; the cursors handed out match it."""
    import re

    from api_builders import assert_problem, feed_order

    spec = api.anonymous.get("/openapi.json").json()
    listings = {
        path: next(p for p in op["get"].get("parameters", []) if p["name"] == "cursor")["schema"]
        for path, op in spec["paths"].items()
        if "get" in op and any(p["name"] == "cursor" for p in op["get"].get("parameters", []))
    }
    assert {"/v1/orders", "/v1/after-sales", "/v1/disputes", "/v1/complaints", "/v1/reviews"} <= listings.keys()
    for schema in listings.values():
        assert schema["type"] == "string" and schema["pattern"] and schema["maxLength"]
    feed_order(api, "o-1")
    feed_order(api, "o-2")
    agent = api.as_("agent")
    handed = agent.get("/v1/orders", params={"limit": 1}).json()["next_cursor"]
    pattern = listings["/v1/orders"]["pattern"]
    assert re.fullmatch(pattern, handed)
    odd = ["0.01", "9999999999999999.ff", "1." + "7f" * 64, "123.c3", handed]
    for cursor in odd:
        assert re.fullmatch(pattern, cursor), cursor
        assert agent.get("/v1/orders", params={"cursor": cursor}).status_code == 200, cursor
    for cursor in ["", "1.00", "1.0", "x.61", "1." + "61" * 65, "W1siMjAyNiJdXQ", "1.61\n"]:
        assert not re.fullmatch(pattern, cursor), cursor
        assert_problem(agent.get("/v1/orders", params={"cursor": cursor}), 422, "validation_error")


def test_closed_sets_are_enums_taken_from_the_domain(api):
    from aftersales.domain import cases, complaints, disputes, orders
    from aftersales.domain.media import EVIDENCE_KINDS

    spec = api.anonymous.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def values(node: dict) -> list[str]:
        """An enum's values, inline or in the named component it refers to."""
        if "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        return node["enum"]

    def query(path: str, name: str) -> list[str]:
        return values(next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)["schema"])

    assert query("/v1/orders", "status") == list(orders.STATUSES)
    assert query("/v1/after-sales", "status") == list(cases.STATUSES)
    assert query("/v1/complaints", "status") == list(complaints.STATUSES)
    assert query("/v1/complaints", "category") == list(complaints.CATEGORIES)
    assert query("/v1/disputes", "kind") == list(disputes.KINDS)
    assert query("/v1/disputes", "reason") == list(cases.REASONS)
    assert values(schemas["CaseIn"]["properties"]["reason"]) == list(cases.REASONS)
    assert values(schemas["ComplaintIn"]["properties"]["category"]) == list(complaints.CATEGORIES)
    assert values(schemas["AfterSaleReject"]["properties"]["reason"]) == list(cases.REJECT_REASONS)
    rule = schemas["DisputeRule"]["properties"]
    assert values(rule["outcome"]) == list(disputes.OUTCOMES)
    upload = spec["paths"]["/v1/evidence"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = schemas[upload["$ref"].rsplit("/", 1)[1]]
    assert values(form["properties"]["kind"]) == list(EVIDENCE_KINDS) and set(form["required"]) == {"file", "kind"}
    assert values(schemas["RulingResult"]["properties"]["outcome"]) == list(disputes.OUTCOMES)
    # One named set where a request and an answer share it: a client has one CaseType, not two.
    assert schemas["CaseIn"]["properties"]["type"] == schemas["Case"]["properties"]["type"]
    assert schemas["CaseIn"]["properties"]["type"]["$ref"] == "#/components/schemas/CaseType"
    assert schemas["OrderIn"]["properties"]["payment_method"] == schemas["Order"]["properties"]["payment_method"]


# Operation ids a generated client names its functions and modules by (docs/api.md "Generating a
# client"): renaming one breaks every client, so these are pinned.
STABLE_IDS = {
    ("post", "/v1/orders"): "create_order",
    ("get", "/v1/orders"): "list_orders",
    ("get", "/v1/orders/{order_id}"): "get_order",
    ("post", "/v1/orders/{subject_id}/pay"): "pay_order",
    ("post", "/v1/orders/{subject_id}/ship"): "ship_order",
    ("post", "/v1/after-sales"): "file_after_sale",
    ("get", "/v1/after-sales"): "list_after_sales",
    ("get", "/v1/after-sales/{case_id}"): "get_after_sale",
    ("get", "/v1/after-sales/{case_id}/events"): "after_sale_events",
    ("post", "/v1/after-sales/{subject_id}/approve"): "approve_after_sale",
    ("post", "/v1/after-sales/{subject_id}/ship-return"): "ship_return_after_sale",
    ("post", "/v1/after-sales/{subject_id}/escalate"): "escalate_after_sale",
    ("post", "/v1/after-sales/{case_id}/messages"): "post_message",
    ("get", "/v1/disputes"): "list_disputes",
    ("get", "/v1/disputes/{dispute_id}"): "get_dispute",
    ("post", "/v1/disputes/{subject_id}/rule"): "rule_dispute",
    ("post", "/v1/disputes/{dispute_id}/appeals"): "file_appeal",
    ("post", "/v1/appeals/{appeal_id}/decide"): "decide_appeal",
    ("post", "/v1/complaints"): "file_complaint",
    ("post", "/v1/complaints/{subject_id}/decide"): "decide_complaint",
    ("post", "/v1/reviews"): "post_review",
    ("post", "/v1/evidence"): "upload_evidence",
    ("get", "/v1/refunds"): "list_refunds",
    ("post", "/v1/admin/clock"): "advance_clock",
    ("post", "/v1/webhook-endpoints"): "create_endpoint",
}


def test_operation_ids_are_short_unique_snake_case_and_stable(api):
    import re

    spec = api.anonymous.get("/openapi.json").json()
    ids = {(m, p): op["operationId"] for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert len(set(ids.values())) == len(ids), "operation ids are unique"
    bad = [i for i in ids.values() if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) or len(i) > 40]
    assert not bad, f"not short snake_case: {bad}"
    assert {k: ids[k] for k in STABLE_IDS} == STABLE_IDS


def test_a_created_resource_links_to_its_reads_and_actions(api):
    """The links a stateful client (and Schemathesis's stateful phase) follows from a 201."""
    spec = api.anonymous.get("/openapi.json").json()
    paths = spec["paths"]

    def links(method: str, path: str) -> dict:
        return paths[path][method]["responses"]["201"]["links"]

    filed = links("post", "/v1/after-sales")
    assert filed["get_after_sale"] == {"operationId": "get_after_sale", "parameters": {"case_id": "$response.body#/id"}}
    assert filed["approve_after_sale"]["parameters"] == {"subject_id": "$response.body#/id"}
    assert {"after_sale_events", "post_message", "escalate_after_sale"} <= set(filed)
    assert {"get_order", "pay_order", "ship_order"} <= set(links("post", "/v1/orders"))
    assert {"get_complaint", "reply_complaint"} <= set(links("post", "/v1/complaints"))
    # An arbitration creates a dispute; an appeal is its own resource.
    assert {"get_dispute", "rule_dispute", "file_appeal"} <= set(links("post", "/v1/arbitrations"))
    assert set(links("post", "/v1/disputes/{dispute_id}/appeals")) == {"get_appeal", "decide_appeal"}
    assert {"get_evidence", "evidence_content"} <= set(links("post", "/v1/evidence"))
    # A listing links from its first item, as a client pages into one.
    listed = paths["/v1/after-sales"]["get"]["responses"]["200"]["links"]
    assert listed["get_after_sale"]["parameters"] == {"case_id": "$response.body#/items/0/id"}
    assert set(listed) == set(filed)
    # Every link names an operation there is, with a parameter that operation takes.
    by_id = {op["operationId"]: op for ops in paths.values() for op in ops.values()}
    for ops in paths.values():
        for op in ops.values():
            for link in [link for r in op["responses"].values() for link in r.get("links", {}).values()]:
                taken = {p["name"] for p in by_id[link["operationId"]].get("parameters", [])}
                assert set(link["parameters"]) <= taken, link


def test_a_message_needs_its_body_or_a_template_as_the_document_says(api):
    """`MessageIn` declares `anyOf` body / template_id, and the service refuses one with neither."""
    from api_builders import assert_problem, feed_order, file_case

    spec = api.anonymous.get("/openapi.json").json()
    required = [branch["required"] for branch in spec["components"]["schemas"]["MessageIn"]["anyOf"]]
    assert required == [["body"], ["template_id"]]
    feed_order(api, "o-msg")
    case_id = file_case(api, "o-msg")["id"]
    buyer = api.as_("buyer", "b-1")
    r = buyer.post(f"/v1/after-sales/{case_id}/messages", json={"evidence": []})
    assert_problem(r, 422)
    assert buyer.get(f"/v1/after-sales/{case_id}/messages").json()["items"] == []
    assert buyer.post(f"/v1/after-sales/{case_id}/messages", json={"body": "到了吗"}).status_code == 201


def test_an_upload_without_its_kind_is_refused_as_the_document_says(api):
    from api_builders import assert_problem

    r = api.as_("buyer", "b-1").post("/v1/evidence", files={"file": ("a.txt", io.BytesIO(b"hello"))})
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "kind"]
