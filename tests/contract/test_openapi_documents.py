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
