"""What a newcomer meets at /docs: pages that load with nothing fetched from another origin and
no inline script (the Content-Security-Policy allows `script-src 'self'` only), an *Authorize*
button that works (the bearer scheme is declared), and one shape for every 422."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from api_builders import assert_problem, feed_order, file_case

# No bearer token: health, and the payment provider's callback, which is signed instead
# (X-Payments-Signature, tests/api/test_payments_api.py).
PUBLIC = {("/healthz", "get"), ("/v1/payments/callbacks/simulated", "post")}


class _Page(HTMLParser):
    """Every URL a page references, by tag, and the text inside its <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "spec-url", "action", "data", "poster"):
            if found.get(name):
                self.urls.append((tag, found[name] or "", found))
        if tag == "script":
            self._in_script = True
            self.script_bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies[-1] += data


@pytest.fixture
def server(api) -> httpx.Client:
    return api.anonymous


def _page(server: httpx.Client, path: str) -> _Page:
    r = server.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    page = _Page()
    page.feed(r.text)
    return page


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_reference_only_their_own_origin(server, path):
    page = _page(server, path)
    assert page.urls, "the page references its scripts"
    for tag, url, _ in page.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"<{tag}> leaves the machine: {url}"
        assert url.startswith("/"), url


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_have_no_inline_script(server, path):
    page = _page(server, path)
    assert page.script_bodies, "the page has its scripts"
    assert [body for body in page.script_bodies if body.strip()] == []
    tags = [(tag, attrs) for tag, _, attrs in page.urls]
    assert all("src" in attrs for tag, attrs in tags if tag == "script")
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs), "inline event handlers"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_every_script_and_style_of_the_docs_pages_is_served_here(server, path):
    page = _page(server, path)
    wanted = {"script": "javascript", "link": "css"}
    checked = 0
    for tag, url, attrs in page.urls:
        if tag == "link" and attrs.get("rel") != "stylesheet":
            continue
        if tag not in wanted:
            continue
        r = server.get(urljoin(path, url))
        assert r.status_code == 200, (url, r.status_code)
        assert wanted[tag] in r.headers["content-type"], (url, r.headers["content-type"])
        assert len(r.content) > 100, url
        checked += 1
    assert checked >= (3 if path == "/docs" else 1)


def test_swagger_starts_from_our_own_script_on_our_own_openapi(server):
    init = server.get("/docs/assets/swagger-init.js")
    assert init.status_code == 200 and "SwaggerUIBundle(" in init.text
    assert '"/openapi.json"' in init.text and "persistAuthorization: true" in init.text
    redoc = _page(server, "/redoc")
    assert [url for tag, url, _ in redoc.urls if tag == "redoc"] == ["/openapi.json"]


def test_an_asset_not_on_the_list_is_a_404_problem(server):
    for name in ("../__init__.py", "core.py", "..%2F..%2Fconfig.py", "nope.js"):
        r = server.get(f"/docs/assets/{name}")
        assert r.status_code == 404, (name, r.status_code)


# --- the OpenAPI: bearer auth ---------------------------------------------------------------------


def test_the_openapi_declares_bearer_jwt_and_requires_it_on_every_operation_but_health(server):
    spec = server.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes) == ["bearer"]
    assert {k: schemes["bearer"][k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (path, method) in PUBLIC:
                assert "security" not in operation, (method, path)
            else:
                assert operation.get("security") == [{"bearer": []}], (method, path)
    assert ("/v1/policies", "get") not in PUBLIC  # they answer 401 without a token, so they say so


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer"}, {"Authorization": "bearer"}]
)
def test_without_a_bearer_token_the_answer_stays_our_401_problem(api, headers):
    r = httpx.get(f"{api.base_url}/v1/policies", headers=headers)
    problem = assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer", problem
    assert httpx.get(f"{api.base_url}/healthz").status_code == 200


# --- one shape for 422 ----------------------------------------------------------------------------


def _errors_schema(api) -> dict:
    return api.anonymous.get("/openapi.json").json()["components"]["schemas"]["Problem"]["properties"]["errors"]


def test_a_rule_refusing_a_field_and_a_malformed_request_answer_the_same_errors_shape(api):
    agent = api.as_("agent")
    # A well-formed complaint the rules refuse: a shop files in its own name only.
    complaint = {"category": "buyer_abuse", "description": "恶意退款", "merchant_id": "m-2"}
    ruled = assert_problem(
        api.as_("merchant", merchant_id="m-1").post("/v1/complaints", json=complaint), 422, "reference_mismatch"
    )
    malformed = assert_problem(agent.get("/v1/after-sales", params={"limit": "many"}), 422, "validation_error")
    declared = _errors_schema(api)["items"]
    assert set(declared["required"]) == {"loc", "msg", "type"}
    for problem in (ruled, malformed):
        assert "fields" not in problem, problem
        assert problem["errors"], problem
        for err in problem["errors"]:
            assert set(err) == {"loc", "msg", "type"}, err
            assert all(isinstance(part, str) for part in err["loc"]) and err["msg"] and err["type"]
    assert ruled["errors"] == [{"loc": ["merchant_id"], "msg": ruled["detail"], "type": "reference_mismatch"}]
    assert malformed["errors"][0]["loc"] == ["query", "limit"]


def test_a_rule_naming_two_fields_lists_both(api, runtime):
    r = api.as_("agent").post("/v1/merchants/m-1/violations", json={"kind": "penalty", "cause": "拒不配合"})
    problem = assert_problem(r, 422, "validation_error")
    assert [err["loc"] for err in problem["errors"]] == [["amount"], ["currency"]], problem
    assert "fields" not in problem


# --- messages that read ---------------------------------------------------------------------------


def test_refusals_name_an_after_sale_with_its_article(api):
    feed_order(api)
    case = file_case(api)
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/approve", json={"return_address": "杭州"})
    problem = assert_problem(r, 403)
    assert problem["detail"] == "a buyer may not approve an after-sale", problem
    r = api.as_("integration", "marketplace").post(f"/v1/after-sales/{case['id']}/approve", json={})
    assert assert_problem(r, 403)["detail"].startswith("an integration may not approve an after-sale")


# --- GET /v1/agents/{id} --------------------------------------------------------------------------


def test_staff_read_one_agent_with_its_load(api):
    admin = api.as_("admin", "admin-1")
    assert admin.put("/v1/agents/agent-7", json={"name": "小王", "capacity": 3}).status_code == 200
    for reader in (api.as_("agent", "agent-1"), admin):
        r = reader.get("/v1/agents/agent-7")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["id"], body["name"], body["capacity"], body["active"], body["load"]) == (
            "agent-7",
            "小王",
            3,
            True,
            0,
        )
    listed = {a["id"]: a for a in admin.get("/v1/agents").json()["items"]}
    assert listed["agent-7"] == body
    assert_problem(api.as_("agent").get("/v1/agents/agent-404"), 404, "not_found")
    assert_problem(api.as_("buyer", "b-1").get("/v1/agents/agent-7"), 403, "forbidden")
    assert_problem(api.as_("merchant", merchant_id="m-1").get("/v1/agents/agent-7"), 403, "forbidden")
    assert_problem(api.anonymous.get("/v1/agents/agent-7"), 401, "unauthenticated")


def test_every_closed_set_is_an_enum_in_the_openapi_document(server):
    """Reasons, evidence kinds, complaint categories, outcomes, liable parties, decisions: a client
    generated from the document can only send what the server accepts."""
    from aftersales.domain import cases, complaints, disputes
    from aftersales.domain.media import EVIDENCE_KINDS

    doc = server.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def values(node: dict) -> list[str]:
        """Inline, or the named component a shared set is (CaseType...)."""
        return schemas[node["$ref"].rsplit("/", 1)[1]]["enum"] if "$ref" in node else node["enum"]

    def enum(schema: str, field: str) -> list[str]:
        return values(schemas[schema]["properties"][field])

    assert enum("CaseIn", "reason") == list(cases.REASONS)
    assert enum("CaseIn", "type") == list(cases.TYPES)
    assert set(enum("ComplaintIn", "category")) == {*complaints.BUYER_CATEGORIES, *complaints.MERCHANT_CATEGORIES}
    assert enum("DisputeRule", "outcome") == list(disputes.OUTCOMES)
    assert enum("DisputeRule", "liable_party") == list(disputes.LIABLE_PARTIES)
    assert enum("AppealDecide", "decision") == list(disputes.DECISIONS)
    assert enum("AfterSaleDisputeReturn", "reason") == list(cases.RETURN_ISSUES)
    upload = doc["paths"]["/v1/evidence"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    upload = schemas[upload["$ref"].rsplit("/", 1)[1]] if "$ref" in upload else upload
    assert values(upload["properties"]["kind"]) == list(EVIDENCE_KINDS)
