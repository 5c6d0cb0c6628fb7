"""The OpenAPI description declares what the API really answers: problem responses with their
statuses and media type, and evidence content in the types it is served as (regressions found
by the Schemathesis run)."""

from __future__ import annotations

import io

import jsonschema_rs
from api_builders import order_body

from aftersales.domain.media import MEDIA_TYPES


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
    assert spec["paths"]["/healthz"]["get"]["responses"].keys() == {"200"}
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
    up = buyer.post("/v1/evidence", files={"file": ("chat.txt", io.BytesIO("聊天记录".encode()))},
                    data={"kind": "chat_record"})
    assert up.status_code == 201, up.text
    r = buyer.get(f"/v1/evidence/{up.json()['id']}/content")
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] in declared
