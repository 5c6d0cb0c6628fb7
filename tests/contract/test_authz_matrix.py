"""Every route x every role x own/foreign tenant, against a table written out by hand from the
README's Safety section and docs/api.md (who may do what), not derived from the code under test:

- no valid token: 401;
- an object the caller may not see (another buyer's order, another shop's case): 404, the same
  as a missing one, checked before anything else about the object;
- an action the caller's role may never take: 403;
- otherwise the request is admitted: reads answer 2xx; writes answer 2xx or a business problem
  of the current state (409, or a 422 with a rule's code), never 401/403/404.

Every denied request is sent first, on a fresh marketplace, and together they must write nothing.
A route the table does not name fails the test, so a new endpoint cannot skip the matrix.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from PIL import Image

from aftersales.api.app import create_app
from aftersales.store import tables as t
from api_builders import ADDRESS, case_body, db_state, feed_order, order_body


@pytest.fixture
def settings(settings):
    # Every route is asked without a token, more than the per-address budget of failed
    # authentications allows in a minute (tests/api/test_limits.py tests that budget).
    return replace(settings, rate_limit_auth_failures="10000/minute")


OK = "ok"
# The columns of the table, in order. "own": b-1 / m-1 acting on b-1's and m-1's things;
# "foreign": the same callers on b-2's and m-2's.
CALLERS = (
    "anonymous",
    "buyer own",
    "buyer foreign",
    "merchant own",
    "merchant foreign",
    "agent",
    "admin",
    "integration",
)
TENANTS = {"own": ("b-1", "m-1"), "foreign": ("b-2", "m-2")}


@dataclass(frozen=True)
class Row:
    subject: str | None  # which thing of the tenant the path (or body) names; None: no tenant involved
    expect: tuple[Any, ...]  # one outcome per CALLERS column
    body: Callable[[dict[str, str]], Any] | None = None  # JSON body from the tenant's things
    query: Callable[[dict[str, str]], dict[str, str]] | None = None  # listing filters naming the tenant


def _b(value: Any) -> Callable[[dict[str, str]], Any]:
    return lambda _: value


SHIP = _b({"carrier": "SF", "tracking_number": "SF-1"})
NOTE = _b({"statement": "补充说明"})

#                  anon  b-own b-for m-own m-for agent admin integ
EVERYONE = (401, OK, OK, OK, OK, OK, OK, OK)
PARTIES_SEE = (401, OK, 404, OK, 404, OK, OK, OK)
BY_MERCHANT = (401, 403, 404, OK, 404, 403, 403, 403)
BY_BUYER = (401, OK, 404, 403, 404, 403, 403, 403)
BY_AGENTS = (401, 403, 404, 403, 404, OK, OK, 403)
# Disputes, appeals and complaints are for the parties and the platform's agents (docs/api.md:
# "GET /v1/disputes/{id} (parties and agents)"); the marketplace's order feed is neither.
DISPUTE_SEE = (401, OK, 404, OK, 404, OK, OK, 403)
AGENTS_ONLY = (401, 403, 403, 403, 403, OK, OK, 403)
SHOP_ONLY = (401, 403, 403, OK, 404, 403, 403, 403)
# Webhook endpoints: a shop's merchant keeps its shop's, an admin the platform's; a shop's endpoint
# is therefore not found to the admin, as to another shop.
HOOK_KEEPERS = (401, 403, 403, OK, OK, 403, OK, 403)
SHOP_HOOK = (401, 403, 403, OK, 404, 403, 404, 403)
HOOK = "https://93.184.215.14/hooks"  # a public address literal: accepted without a DNS lookup

TABLE: dict[str, Row] = {
    "GET /healthz": Row(None, (OK, OK, OK, OK, OK, OK, OK, OK)),
    # Operators' metrics: an admin (or the AFTERSALES_METRICS_TOKEN scraper, tests/api/test_observability.py).
    "GET /metrics": Row(None, (401, 403, 403, 403, 403, 403, OK, 403)),
    "GET /v1/policies": Row(None, EVERYONE),
    "GET /v1/reasons": Row(None, EVERYONE),
    # The simulated clock is off here: the endpoint does not exist for anyone (docs/api.md).
    "POST /v1/admin/clock": Row(None, (401, 404, 404, 404, 404, 404, 404, 404), _b({"advance_seconds": 1})),
    # Orders are fed and moved by the marketplace (integration; admin may stand in for it).
    "POST /v1/orders": Row(None, (401, 403, 403, 403, 403, 403, OK, OK), _b(order_body("o-new"))),
    # Listings filtered on the foreign tenant answer 200 without a row of it (checked below).
    "GET /v1/orders": Row("merchant", EVERYONE, query=lambda w: {"merchant_id": w["merchant"]}),
    "GET /v1/orders/{order_id}": Row("order", PARTIES_SEE),
    "GET /v1/orders/{order_id}/events": Row("order", PARTIES_SEE),
    "GET /v1/orders/{order_id}/eligibility": Row("order", PARTIES_SEE),
    "POST /v1/orders/{subject_id}/pay": Row("order", (401, 403, 404, 403, 404, 403, OK, OK)),
    "POST /v1/orders/{subject_id}/confirm": Row("order_cod", (401, 403, 404, OK, 404, 403, OK, 403)),
    "POST /v1/orders/{subject_id}/ship": Row("order", (401, 403, 404, OK, 404, 403, OK, OK), SHIP),
    "POST /v1/orders/{subject_id}/deliver": Row("order", (401, 403, 404, 403, 404, 403, OK, OK)),
    "POST /v1/orders/{subject_id}/complete": Row("order", (401, 403, 404, 403, 404, 403, OK, OK)),
    # Online: the buyer or customer service (agent) until it ships; the merchant never.
    "POST /v1/orders/{subject_id}/cancel": Row("order", (401, OK, 404, 403, 404, OK, OK, OK), _b({"reason": "拍错"})),
    # Only a buyer files, and only for an order it can see.
    "POST /v1/after-sales": Row(
        "order",
        (401, OK, 404, 403, 403, 403, 403, 403),
        lambda w: case_body(w["order"], type="refund_only", reason="damaged"),
    ),
    "GET /v1/after-sales": Row("merchant", EVERYONE, query=lambda w: {"merchant_id": w["merchant"]}),
    "GET /v1/after-sales/{case_id}": Row("case", PARTIES_SEE),
    "GET /v1/after-sales/{case_id}/events": Row("case", PARTIES_SEE),
    # Case files: "parties and agents" (the marketplace's integration is neither).
    "GET /v1/after-sales/{case_id}/case-file": Row("case", (401, OK, 404, OK, 404, OK, OK, 403)),
    "GET /v1/after-sales/{case_id}/case-file.pdf": Row("case", (401, OK, 404, OK, 404, OK, OK, 403)),
    # Messages 协商记录: read by whoever sees the case; posted by its buyer, its merchant and customer
    # service, never by admins (they stand apart from the cases) or the order feed.
    "GET /v1/after-sales/{case_id}/messages": Row("case", PARTIES_SEE),
    "POST /v1/after-sales/{case_id}/messages": Row("case", (401, OK, 404, OK, 404, OK, 403, 403), _b({"body": "你好"})),
    "POST /v1/after-sales/{subject_id}/approve": Row("case", BY_MERCHANT, _b({"return_address": ADDRESS})),
    "POST /v1/after-sales/{subject_id}/reject": Row("case", BY_MERCHANT, _b({"reason": "no_quality_issue"})),
    # The buyer, or the integration reporting the carrier's pickup.
    "POST /v1/after-sales/{subject_id}/ship-return": Row("case", (401, OK, 404, 403, 404, 403, 403, OK), SHIP),
    "POST /v1/after-sales/{subject_id}/confirm-receipt": Row("case", BY_MERCHANT),
    "POST /v1/after-sales/{subject_id}/refund-voucher": Row(
        "case_cod", BY_MERCHANT, lambda w: {"evidence": [w["evidence"]]}
    ),
    "POST /v1/after-sales/{subject_id}/withdraw": Row("case", BY_BUYER),
    "POST /v1/after-sales/{subject_id}/escalate": Row("case", BY_BUYER, NOTE),
    "POST /v1/after-sales/{subject_id}/dispute-return": Row(
        "case", BY_MERCHANT, _b({"reason": "damaged", "statement": "退回的货已损坏"})
    ),
    "POST /v1/after-sales/{subject_id}/confirm-exchange": Row("case", BY_BUYER),
    "POST /v1/after-sales/{subject_id}/reship": Row("case_reship", BY_MERCHANT, SHIP),
    "POST /v1/after-sales/{subject_id}/confirm-reship": Row("case_reship", BY_BUYER),
    # 协商 (docs/api.md): the shop offers and extends its deadline; the buyer answers the offer.
    "POST /v1/after-sales/{subject_id}/offer": Row("case", BY_MERCHANT, _b({"amount": 100, "note": "部分退款"})),
    "POST /v1/after-sales/{subject_id}/accept-offer": Row("case", BY_BUYER),
    "POST /v1/after-sales/{subject_id}/decline-offer": Row("case", BY_BUYER),
    "POST /v1/after-sales/{subject_id}/extend": Row("case", BY_MERCHANT, _b({"hours": 24, "reason": "等待质检"})),
    # The agents' queue.
    "GET /v1/disputes": Row("merchant", AGENTS_ONLY, query=lambda w: {"merchant_id": w["merchant"]}),
    "GET /v1/disputes/{dispute_id}": Row("dispute", DISPUTE_SEE),
    "GET /v1/disputes/{dispute_id}/events": Row("dispute", DISPUTE_SEE),
    "GET /v1/disputes/{dispute_id}/appeals": Row("dispute", DISPUTE_SEE),
    # Only the losing party appeals: the ruling here denied the buyer, so the merchant may not.
    "POST /v1/disputes/{dispute_id}/appeals": Row(
        "ruled", (401, OK, 404, 403, 404, 403, 403, 403), _b({"grounds": "证据未被采纳"})
    ),
    # Internal notes: agents only, whoever's dispute it is.
    "GET /v1/disputes/{dispute_id}/notes": Row("dispute", AGENTS_ONLY),
    "POST /v1/disputes/{dispute_id}/notes": Row("dispute", AGENTS_ONLY, _b({"body": "内部备注"})),
    "POST /v1/disputes/{subject_id}/evidence": Row("dispute", (401, OK, 404, OK, 404, 403, 403, 403), NOTE),
    "POST /v1/disputes/{subject_id}/request-evidence": Row("dispute", BY_AGENTS, _b({"party": "buyer"})),
    "POST /v1/disputes/{subject_id}/assign": Row("dispute", BY_AGENTS, _b({"agent_id": "agent-1"})),
    # Ruling 判责 is an agent's job (docs/api.md), not an admin's.
    "POST /v1/disputes/{subject_id}/rule": Row(
        "dispute",
        (401, 403, 404, 403, 404, OK, 403, 403),
        _b({"outcome": "deny", "liable_party": "none", "rationale": "证据不足"}),
    ),
    "POST /v1/disputes/{subject_id}/accept": Row("arbitration", BY_AGENTS),
    "POST /v1/disputes/{subject_id}/decline": Row("arbitration", BY_AGENTS),
    "GET /v1/appeals/{appeal_id}": Row("appeal", DISPUTE_SEE),
    # An agent other than the one who ruled (agent-2 ruled; the agent column is agent-1).
    "POST /v1/appeals/{appeal_id}/decide": Row(
        "appeal", (401, 403, 404, 403, 404, OK, 403, 403), _b({"decision": "uphold", "rationale": "维持原判"})
    ),
    # 仲裁 of a closed request, applied for by a party that can see it.
    "POST /v1/arbitrations": Row(
        "closed",
        (401, OK, 404, OK, 404, 403, 403, 403),
        lambda w: {"after_sale_id": w["closed"], "statement": "申请仲裁"},
    ),
    "GET /v1/agents": Row(None, AGENTS_ONLY),
    "GET /v1/agents/{agent_id}": Row(None, AGENTS_ONLY),
    "PUT /v1/agents/{agent_id}": Row(
        None, (401, 403, 403, 403, 403, 403, OK, 403), _b({"name": "新客服", "capacity": 5})
    ),
    # Complaints: buyers about conduct, merchants to the platform; agents handle them.
    "POST /v1/complaints": Row(
        None,
        (401, OK, OK, OK, OK, 403, 403, 403),
        lambda w: {
            "category": "ruling_objection" if w["caller"] == "merchant" else "induced_review",
            "description": "好评返现",
            "merchant_id": "m-1",
        },
    ),
    "GET /v1/complaints": Row(
        "merchant", (401, OK, OK, OK, OK, OK, OK, 403), query=lambda w: {"merchant_id": w["merchant"]}
    ),
    "GET /v1/complaints/{complaint_id}": Row("complaint", DISPUTE_SEE),
    "GET /v1/complaints/{complaint_id}/events": Row("complaint", DISPUTE_SEE),
    "POST /v1/complaints/{subject_id}/reply": Row("complaint", BY_MERCHANT, _b({"reply": "已联系买家"})),
    "POST /v1/complaints/{subject_id}/propose-solution": Row("complaint", BY_MERCHANT, _b({"solution": "退还差价"})),
    "POST /v1/complaints/{subject_id}/approve-solution": Row("complaint", BY_AGENTS),
    "POST /v1/complaints/{subject_id}/reject-solution": Row("complaint", BY_AGENTS),
    "POST /v1/complaints/{subject_id}/confirm": Row("complaint", BY_BUYER),
    "POST /v1/complaints/{subject_id}/reject": Row("complaint", BY_BUYER),
    "POST /v1/complaints/{subject_id}/decide": Row(
        "complaint", BY_AGENTS, _b({"decision": "dismissed", "rationale": "证据不足"})
    ),
    # Only the complainant (the buyer here) withdraws.
    "POST /v1/complaints/{subject_id}/withdraw": Row("complaint", BY_BUYER),
    # Reviews 评价: the buyer of a completed order posts, the shop replies; readers as for orders
    # (the marketplace reads them to publish them).
    "POST /v1/reviews": Row(
        "order_done",
        (401, OK, 404, 403, 403, 403, 403, 403),
        lambda w: {"order_id": w["order_done"], "rating": 5, "text": "好茶"},
    ),
    "GET /v1/reviews": Row("merchant", EVERYONE, query=lambda w: {"merchant_id": w["merchant"]}),
    "GET /v1/reviews/{review_id}": Row("review", PARTIES_SEE),
    "GET /v1/reviews/{review_id}/events": Row("review", PARTIES_SEE),
    "POST /v1/reviews/{subject_id}/reply": Row("review", BY_MERCHANT, _b({"reply": "感谢支持"})),
    # Money and sanctions.
    "GET /v1/refunds": Row("order", EVERYONE, query=lambda w: {"order_id": w["order"]}),
    # Agents hand a failed refund back to the payment provider (one still pending: 409).
    "POST /v1/refunds/{refund_id}/retry": Row("refund", BY_AGENTS),
    # The payment provider's callback carries its signature, not a token: unsigned, nobody gets in.
    "POST /v1/payments/callbacks/simulated": Row(None, (401, 401, 401, 401, 401, 401, 401, 401)),
    # The simulated provider's faults: an admin's switch (outside production).
    "PUT /v1/admin/payments/simulated": Row(None, (401, 403, 403, 403, 403, 403, OK, 403), _b({"fault": "none"})),
    "GET /v1/settlements": Row(
        "merchant", (401, 403, 403, OK, OK, OK, OK, 403), query=lambda w: {"merchant_id": w["merchant"]}
    ),
    "GET /v1/merchants/{merchant_id}/violations": Row("merchant", (401, 403, 403, OK, 404, OK, OK, 403)),
    "POST /v1/merchants/{merchant_id}/violations": Row(
        "merchant", AGENTS_ONLY, _b({"kind": "warning", "cause": "诱导评价"})
    ),
    # Quick replies 话术: the shop itself only; another shop's are not found.
    "GET /v1/merchants/{merchant_id}/reply-templates": Row("merchant", SHOP_ONLY),
    "POST /v1/merchants/{merchant_id}/reply-templates": Row(
        "merchant", SHOP_ONLY, _b({"title": "催发货", "body": "亲，已加急"})
    ),
    "DELETE /v1/merchants/{merchant_id}/reply-templates/{template_id}": Row("merchant", SHOP_ONLY),
    "GET /v1/merchants/{merchant_id}/standing": Row("merchant", (401, 403, 403, OK, 404, OK, OK, 403)),
    # Prices are public; only the marketplace reports a drop.
    "POST /v1/price-drops": Row(
        None, (401, 403, 403, 403, 403, 403, OK, OK), _b({"merchant_id": "m-1", "sku": "tea-250g", "price": 8000})
    ),
    "GET /v1/merchants/{merchant_id}/price-drops": Row("merchant", EVERYONE),
    # Profiles: fed by the marketplace (admin may stand in); read by their owner and the staff.
    "PUT /v1/merchants/{merchant_id}": Row(
        "merchant", (401, 403, 403, 403, 403, 403, OK, OK), _b({"name": "茶庄", "timezone": "Asia/Shanghai"})
    ),
    "GET /v1/merchants/{merchant_id}": Row("merchant", (401, 403, 403, OK, 404, OK, OK, OK)),
    "PUT /v1/buyers/{buyer_id}": Row("buyer", (401, 403, 403, 403, 403, 403, OK, OK), _b({"display_name": "买家"})),
    "GET /v1/buyers/{buyer_id}": Row("buyer", (401, OK, 404, 403, 403, OK, OK, OK)),
    # Evidence: anyone may upload; read by the uploader, the parties of a case citing it, agents.
    # The integration may read its own uploads, so others' are "not found" to it, not forbidden.
    "POST /v1/evidence": Row(None, EVERYONE),
    "GET /v1/evidence/{evidence_id}": Row("evidence", (401, OK, 404, OK, 404, OK, OK, 404)),
    "GET /v1/evidence/{evidence_id}/content": Row("evidence", (401, OK, 404, OK, 404, OK, OK, 404)),
    "GET /v1/evidence/{evidence_id}/thumbnail": Row("photo", (401, OK, 404, OK, 404, OK, OK, 404)),
    "POST /v1/webhook-endpoints": Row(None, HOOK_KEEPERS, _b({"url": HOOK, "events": ["after_sale.*"]})),
    "GET /v1/webhook-endpoints": Row(None, HOOK_KEEPERS),
    "GET /v1/webhook-endpoints/{endpoint_id}": Row("webhook", SHOP_HOOK),
    "DELETE /v1/webhook-endpoints/{endpoint_id}": Row("webhook_doomed", SHOP_HOOK),
    "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret": Row("webhook", SHOP_HOOK),
    "POST /v1/webhook-endpoints/{endpoint_id}/enable": Row("webhook", SHOP_HOOK),
    "GET /v1/webhook-endpoints/{endpoint_id}/deliveries": Row("webhook", SHOP_HOOK),
    "POST /v1/webhook-deliveries/{delivery_id}/retry": Row("delivery", SHOP_HOOK),
}
# Routes outside the API contract: the console's landing page and FastAPI's own documentation.
NOT_IN_MATRIX = {"GET /", "GET /openapi.json", "GET /docs", "GET /docs/assets/{name}", "GET /redoc"}


def _routes(routes: list[Any]) -> set[str]:
    """ "METHOD path" of every route the app serves, included routers unfolded."""
    found: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):
            found |= _routes(route.original_router.routes)
        else:
            found |= {f"{m} {route.path}" for m in (route.methods or ()) if m != "HEAD"}
    return found


def test_the_table_covers_every_route_of_the_app():
    app = create_app(None)
    served = _routes(app.routes)
    # The console's pages have a matrix of their own (tests/console/test_console_matrix.py).
    served = {r for r in served if not r.split(" ", 1)[1].startswith("/console/")}
    assert served - NOT_IN_MATRIX - TABLE.keys() == set(), "routes missing from the authorisation table"
    assert TABLE.keys() - served == set(), "the table names routes the app no longer has"
    spec = app.openapi()["paths"]
    assert {f"{m.upper()} {p}" for p, ops in spec.items() for m in ops} == set(TABLE)


# --- the marketplace the matrix runs on --------------------------------------------------------


def _world(api: Any) -> dict[str, dict[str, str]]:
    """For each tenant (buyer, shop): an online order, a COD order, a case citing the buyer's
    evidence (a chat log and a photo), a COD case, an open intervention, a dispute ruled against
    the buyer with the buyer's appeal, an arbitration application, a closed case, the buyer's
    complaint about the shop, one of the shop's quick replies, a cancelled order's refund, a
    completed order and the buyer's review of another, and two of the shop's webhook endpoints,
    one with a dead delivery."""
    admin, agent2 = api.as_("admin", "admin-1"), api.as_("agent", "agent-2")
    for agent_id in ("agent-1", "agent-2"):
        assert admin.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "capacity": 50}).status_code == 200
    for buyer_id, shop in TENANTS.values():
        assert admin.put(f"/v1/merchants/{shop}", json={"name": f"店铺 {shop}"}).status_code == 200
        assert admin.put(f"/v1/buyers/{buyer_id}", json={"display_name": f"买家 {buyer_id}"}).status_code == 200
    return {tenant: _tenant(api, agent2, tenant, buyer_id, shop) for tenant, (buyer_id, shop) in TENANTS.items()}


def _tenant(api: Any, agent2: httpx.Client, tenant: str, buyer_id: str, shop: str) -> dict[str, str]:
    buyer, merchant = api.as_("buyer", buyer_id), api.as_("merchant", merchant_id=shop)
    w: dict[str, str] = {"merchant": shop, "buyer": buyer_id}

    def order(name: str, upto: str = "delivered", **kw: Any) -> str:
        oid = f"o-{name}-{tenant}"
        feed_order(api, oid, buyer=buyer_id, merchant=shop, upto=upto, **kw)
        return oid

    def file(oid: str, **kw: Any) -> str:
        r = buyer.post("/v1/after-sales", json=case_body(oid, **kw))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def ok(r: httpx.Response) -> dict[str, Any]:
        assert r.status_code in (200, 201), r.text
        return r.json()

    up = buyer.post(
        "/v1/evidence", files={"file": ("chat.txt", io.BytesIO("聊天记录".encode()))}, data={"kind": "chat_record"}
    )
    w["evidence"] = ok(up)["id"]
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(photo, format="PNG")
    up = buyer.post("/v1/evidence", files={"file": ("photo.png", photo.getvalue())}, data={"kind": "product_media"})
    w["photo"] = ok(up)["id"]
    w["order"] = order("online", upto="stocking")
    w["order_cod"] = order("cod", upto="created", method="cod")
    # Over the speedy-refund limit (¥500): the return it ships back is not refunded on the way,
    # so the buyer may still withdraw it when the table gets there (domain/cases.py).
    w["case"] = file(order("case", unit_price=30000), evidence=[w["evidence"], w["photo"]])
    w["case_cod"] = file(order("case-cod", method="cod"))
    w["case_reship"] = file(order("case-reship"), type="reship", reason="missing_items")
    escalated = []
    for name in ("dispute", "ruled"):
        case_id = file(order(name), type="refund_only", reason="damaged")
        ok(merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"}))
        escalated.append(
            ok(buyer.post(f"/v1/after-sales/{case_id}/escalate", json={"statement": "请介入"}))["dispute_id"]
        )
    w["dispute"], w["ruled"] = escalated
    ok(
        agent2.post(
            f"/v1/disputes/{w['ruled']}/rule",
            json={"outcome": "deny", "liable_party": "none", "rationale": "证据不足"},
        )
    )
    w["appeal"] = ok(buyer.post(f"/v1/disputes/{w['ruled']}/appeals", json={"grounds": "证据未被采纳"}))["id"]
    for name in ("arbitration", "closed"):
        w[name] = file(order(name))
        ok(buyer.post(f"/v1/after-sales/{w[name]}/withdraw"))
    w["arbitration"] = ok(
        buyer.post("/v1/arbitrations", json={"after_sale_id": w["arbitration"], "statement": "申请仲裁"})
    )["id"]
    w["template"] = ok(
        merchant.post(f"/v1/merchants/{shop}/reply-templates", json={"title": "退货地址", "body": ADDRESS})
    )["id"]
    w["complaint"] = ok(
        buyer.post(
            "/v1/complaints", json={"category": "induced_review", "description": "好评返现", "merchant_id": shop}
        )
    )["id"]
    refunded = order("refunded", upto="stocking")
    ok(buyer.post(f"/v1/orders/{refunded}/cancel", json={"reason": "拍错"}))
    [refund] = ok(api.as_("agent").get("/v1/refunds", params={"order_id": refunded}))["items"]
    w["refund"] = refund["id"]
    w["order_done"] = order("done", upto="completed")
    w["review"] = ok(
        buyer.post("/v1/reviews", json={"order_id": order("reviewed", upto="completed"), "rating": 4, "text": "不错"})
    )["id"]
    for name in ("webhook", "webhook_doomed"):
        w[name] = ok(merchant.post("/v1/webhook-endpoints", json={"url": HOOK, "events": ["*"]}))["id"]
    w["delivery"] = _dead_delivery(api, w["webhook"])
    return w


def _dead_delivery(api: Any, endpoint_id: str) -> str:
    """A delivery the relay gave up on (written as the relay writes it)."""
    now = api.clock.now()
    with api.runtime.engine.begin() as conn:
        return str(
            conn.execute(
                t.webhook_deliveries.insert()
                .values(
                    endpoint_id=endpoint_id,
                    event_id=1,
                    message_id="msg_1",
                    type="after_sale.created",
                    subject="after_sale:as_1",
                    payload={},
                    status="dead",
                    attempts=3,
                    created_at=now,
                )
                .returning(t.webhook_deliveries.c.id)
            ).scalar_one()
        )


def _clients(api: Any) -> dict[str, httpx.Client]:
    return {
        "anonymous": api.anonymous,
        "buyer": api.as_("buyer", "b-1"),
        "merchant": api.as_("merchant", merchant_id="m-1"),
        "agent": api.as_("agent", "agent-1"),
        "admin": api.as_("admin", "admin-1"),
        "integration": api.as_("integration", "marketplace"),
    }


def _send(client: httpx.Client, caller: str, route: str, row: Row, things: dict[str, str]) -> httpx.Response:
    method, path = route.split(" ", 1)
    if row.subject is not None:
        subject = things[row.subject]
        for name in (
            "order_id",
            "subject_id",
            "case_id",
            "dispute_id",
            "complaint_id",
            "appeal_id",
            "review_id",
            "evidence_id",
            "refund_id",
            "merchant_id",
            "buyer_id",
            "endpoint_id",
            "delivery_id",
        ):
            path = path.replace(f"{{{name}}}", subject)
    path = path.replace("{template_id}", things["template"])
    # Read an agent of the roster; PUT adds or updates another.
    path = path.replace("{agent_id}", "agent-1" if method == "GET" else "agent-9")
    if route == "POST /v1/evidence":
        return client.post(path, files={"file": ("note.txt", io.BytesIO(b"matrix"))}, data={"kind": "other"})
    body = row.body({**things, "caller": caller}) if row.body else ({} if method in ("POST", "PUT") else None)
    return client.request(method, path, json=body, params=row.query(things) if row.query else None)


def _cells() -> list[tuple[str, str, str, Row, Any]]:
    """(route, column, caller, row, expected) for every cell; a tenant-free route is sent once."""
    cells = []
    for route, row in TABLE.items():
        assert len(row.expect) == len(CALLERS), route
        for column, expected in zip(CALLERS, row.expect, strict=True):
            caller, _, tenant = column.partition(" ")
            if tenant == "foreign" and row.subject is None:
                assert expected == row.expect[CALLERS.index(f"{caller} own")], (route, column)
                continue
            cells.append((route, column, caller, row, expected))
    return cells


def _admitted(r: httpx.Response, method: str) -> bool:
    if method == "GET":
        return r.status_code == 200
    if 200 <= r.status_code < 300 or r.status_code == 409:
        return True
    return r.status_code == 422 and r.json().get("code") != "validation_error"


def _only_own_rows(route: str, caller: str, r: httpx.Response) -> list[str]:
    """For a buyer's or merchant's listing: ids of rows that belong to someone else."""
    if (
        caller not in ("buyer", "merchant")
        or r.status_code != 200
        or r.headers["content-type"] != "application/json"
        or "items" not in r.json()
    ):
        return []
    field, mine = ("buyer_id", "b-1") if caller == "buyer" else ("merchant_id", "m-1")
    return [item.get("id", "?") for item in r.json()["items"] if field in item and item[field] != mine]


def test_every_route_role_and_tenant_gets_the_outcome_of_the_table(api, runtime):
    world = _world(api)
    clients = _clients(api)
    cells = _cells()
    wrong: list[str] = []
    # Denials first: on the untouched marketplace, and all of them together write nothing.
    before = db_state(runtime)
    for route, column, caller, row, expected in cells:
        if expected == OK:
            continue
        r = _send(clients[caller], caller, route, row, world[column.partition(" ")[2] or "own"])
        if r.status_code != expected or not r.headers.get("content-type", "").startswith("application/problem+json"):
            wrong.append(f"{route} as {column}: expected {expected}, got {r.status_code} {r.text[:160]}")
    if db_state(runtime) != before:
        wrong.append("the denied requests above wrote something")
    for route, column, caller, row, expected in cells:
        if expected != OK:
            continue
        r = _send(clients[caller], caller, route, row, world[column.partition(" ")[2] or "own"])
        if not _admitted(r, route.split(" ")[0]):
            wrong.append(f"{route} as {column}: expected it admitted, got {r.status_code} {r.text[:160]}")
        elif leaked := _only_own_rows(route, caller, r):
            wrong.append(f"{route} as {column}: lists other tenants' rows {leaked}")
        elif row.query and column.endswith("foreign") and r.json()["items"]:
            wrong.append(f"{route} as {column}: a filter on the other tenant shows {r.json()['items']}")
    assert not wrong, f"{len(wrong)} of {len(cells)} cells differ from the table:\n" + "\n".join(wrong)


def test_the_order_feed_is_refused_disputes_appeals_and_complaints_whether_they_exist_or_not(api):
    """Regression: the integration read disputes and appeals (200) and got 404 for complaints;
    it is neither a party nor an agent, so all three are 403, alike for real and missing ids."""
    world = _world(api)["own"]
    market = api.as_("integration", "marketplace")
    for path in (
        f"/v1/disputes/{world['dispute']}",
        f"/v1/disputes/{world['ruled']}/appeals",
        f"/v1/appeals/{world['appeal']}",
        f"/v1/complaints/{world['complaint']}",
    ):
        real, missing = (
            market.get(path),
            market.get(path.replace("/dp_", "/dp_x").replace("/ap_", "/ap_x").replace("/cp_", "/cp_x")),
        )
        assert real.status_code == missing.status_code == 403, (path, real.text, missing.text)
        assert real.json() == missing.json() and real.json()["code"] == "forbidden"
