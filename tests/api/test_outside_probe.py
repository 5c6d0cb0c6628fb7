"""The running server probed from outside, as a careless client and as an attacker would: the
demo marketplace behind a real uvicorn server, every caller, every listed action, hostile bodies,
other tenants' ids, bursts, retries with reused keys, the size and rate limits.

Six defects were found this way and fixed; their tests are the ones about column widths, a token's
sub, a refused upload's file, racing uploads under one key, NUL characters and /healthz."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from aftersales import demo
from aftersales.api.auth import mint
from aftersales.domain.actions import Choice, Text
from aftersales.domain.cases import REJECT_REASONS
from aftersales.domain.clock import SystemClock
from aftersales.integrations.storage import content_key
from aftersales.runtime import Runtime
from aftersales.services.kinds import KINDS
from api_builders import assert_problem, db_state, feed_order, file_case, race
from conftest import PG_URL
from live_server import SECRET, Api
from waiting import wait_until

# Who walks the demo: every buyer, every shop, both agents, the admin and the marketplace.
CALLERS: list[tuple[str, str, str | None]] = [
    *[("buyer", b, None) for b in demo.BUYERS],
    *[("merchant", f"{m}-staff", m) for m in demo.MERCHANTS],
    *[("agent", a, None) for a in demo.AGENTS],
    ("admin", "admin-1", None),
    ("integration", "marketplace", None),
]
COLLECTIONS = {"order": "/v1/orders", "after-sale": "/v1/after-sales", "dispute": "/v1/disputes"}
COLLECTIONS |= {"complaint": "/v1/complaints", "appeal": "/v1/appeals"}


def _client(api: Api, role: str, sub: str, merchant_id: str | None) -> httpx.Client:
    return api.as_(role, sub, merchant_id)


def _upload(client: httpx.Client) -> str:
    r = client.post(
        "/v1/evidence", data={"kind": "chat_record"}, files={"file": ("chat.txt", b"chat log", "text/plain")}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _body(kind: str, action: str, subject: dict[str, Any], evidence_id: str, caller: str) -> dict[str, Any]:
    """A valid body for `action` on `subject`: what a careful client would send."""
    ship = {"carrier": "顺丰速运", "tracking_number": "SF123456"}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("order", "ship"): ship,
        ("order", "cancel"): {"reason": "不要了"},
        ("after-sale", "approve"): {"return_address": "杭州市西湖区龙井路 18 号"},
        ("after-sale", "reject"): {"reason": "no_quality_issue", "note": "检测合格"},
        ("after-sale", "ship-return"): ship,
        ("after-sale", "confirm-receipt"): ship,
        ("after-sale", "refund-voucher"): {"evidence": [evidence_id]},
        ("after-sale", "escalate"): {"statement": "请平台介入"},
        ("after-sale", "dispute-return"): {"reason": "used", "statement": "退回的商品已使用"},
        ("after-sale", "offer"): {"amount": 100, "note": "部分退款，商品无需退回"},
        ("after-sale", "extend"): {"hours": 24, "reason": "等待质检结果"},
        ("dispute", "assign"): {"agent_id": caller if caller in demo.AGENTS else "agent-1"},
        ("dispute", "evidence"): {"statement": "补充说明"},
        ("dispute", "request-evidence"): {"party": "buyer", "note": "请补充照片"},
        ("dispute", "rule"): {"outcome": "deny", "liable_party": "none", "rationale": "证据不足"},
        ("dispute", "appeal"): {"grounds": "裁决有误"},
        ("appeal", "decide"): {"decision": "uphold", "rationale": "维持原判"},
        ("complaint", "reply"): {"reply": "已处理"},
        ("complaint", "propose-solution"): {"solution": "补偿 5 元"},
        ("complaint", "decide"): {"decision": "dismissed", "rationale": "证据不足"},
    }
    return bodies.get((kind, action), {})


def _action_path(kind: str, subject_id: str, action: str) -> str:
    if kind == "dispute" and action == "appeal":
        return f"/v1/disputes/{subject_id}/appeals"
    return f"{COLLECTIONS[kind]}/{subject_id}/{action}"


# The actions a caller posts on each kind, with the URL segment it posts to.
ROUTED = {
    "order": ["pay", "confirm", "ship", "deliver", "complete", "cancel"],
    "after-sale": [
        "approve",
        "reject",
        "ship-return",
        "confirm-receipt",
        "refund-voucher",
        "confirm-exchange",
        "withdraw",
        "escalate",
        "dispute-return",
        "offer",
        "accept-offer",
        "decline-offer",
        "extend",
    ],
    "dispute": ["accept", "decline", "assign", "evidence", "request-evidence", "rule", "appeal"],
    "appeal": ["decide"],
    "complaint": [
        "reply",
        "propose-solution",
        "approve-solution",
        "reject-solution",
        "confirm",
        "reject",
        "decide",
        "withdraw",
    ],
}


def _visible(client: httpx.Client) -> list[tuple[str, str]]:
    """(kind, id) of everything the caller can list: its orders, cases, complaints, and the
    disputes and appeals those lead to."""
    found: list[tuple[str, str]] = []
    for kind in ("order", "after-sale", "complaint", "dispute"):
        r = client.get(COLLECTIONS[kind], params={"limit": 100})
        if r.status_code == 403:
            continue  # the dispute queue is for the platform; parties reach disputes from their cases
        assert r.status_code == 200, r.text
        found += [(kind, x["id"]) for x in r.json()["items"]]
        if kind == "after-sale":
            found += [("dispute", x["dispute_id"]) for x in r.json()["items"] if x.get("dispute_id")]
    disputes = sorted({i for k, i in found if k == "dispute"})
    for dispute_id in disputes:
        r = client.get(f"/v1/disputes/{dispute_id}/appeals")
        if r.status_code == 403:  # the marketplace's backend sees cases, not disputes
            found.remove(("dispute", dispute_id))
            continue
        assert r.status_code == 200, r.text
        found += [("appeal", x["id"]) for x in r.json()["items"]]
    return list(dict.fromkeys(found))


def _get(client: httpx.Client, kind: str, subject_id: str) -> dict[str, Any]:
    r = client.get(f"{COLLECTIONS[kind]}/{subject_id}")
    assert r.status_code == 200, f"{kind} {subject_id}: {r.status_code} {r.text}"
    return r.json()


def test_every_action_the_read_models_list_is_allowed_and_no_unlisted_one_succeeds(serve, runtime: Runtime) -> None:
    """For each caller and each subject it sees: every action not in `actions` is refused (and
    writes nothing), every action in `actions`, posted with a valid body, is never a 403."""
    assert demo.load(runtime)
    api = serve(runtime)
    listed_but_forbidden: list[str] = []
    unlisted_but_taken: list[str] = []
    taken = 0
    for role, sub, merchant_id in CALLERS:
        client = _client(api, role, sub, merchant_id)
        evidence_id = _upload(client) if role in ("buyer", "merchant") else "ev_none"
        for kind, subject_id in _visible(client):
            subject = _get(client, kind, subject_id)
            for action in ROUTED[kind]:
                if action in subject["actions"]:
                    continue
                r = client.post(
                    _action_path(kind, subject_id, action), json=_body(kind, action, subject, evidence_id, sub)
                )
                assert r.status_code != 500, r.text
                if r.status_code < 400:
                    unlisted_but_taken.append(f"{role} {sub} {action} {kind} {subject['status']}: {r.status_code}")
                    subject = _get(client, kind, subject_id)
            # The listed ones, one at a time, each re-read: taking one may retire the others.
            for _ in range(len(ROUTED[kind])):
                fresh = _get(client, kind, subject_id)
                todo = [a for a in fresh["actions"] if a in ROUTED[kind]]
                if not todo:
                    break
                action = todo[0]
                r = client.post(
                    _action_path(kind, subject_id, action), json=_body(kind, action, fresh, evidence_id, sub)
                )
                assert r.status_code != 500, r.text
                if r.status_code in (403, 404):
                    listed_but_forbidden.append(f"{role} {sub} {action} {kind} {fresh['status']}: {r.text}")
                    break
                assert r.status_code < 300, f"{role} {sub} {action} {kind} {fresh['status']}: {r.status_code} {r.text}"
                taken += 1
    assert not listed_but_forbidden, listed_but_forbidden
    assert not unlisted_but_taken, unlisted_but_taken
    assert taken >= 20  # the walk really moved the demo along


# ---------------------------------------------------------------------------------------------
# Bursts: many conflicting requests on one subject at once.

BURST = 24


def _disputed_case(api: Api, order_id: str = "o-1001") -> tuple[str, str]:
    """(case id, dispute id) of a refused request the buyer escalated."""
    feed_order(api, order_id)
    case = file_case(api, order_id)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200, r.text
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    return case["id"], r.json()["dispute_id"]


def _one_winner(responses: list[httpx.Response], ok: int) -> httpx.Response:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [ok] + [409] * (len(responses) - 1), [(r.status_code, r.text[:120]) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409)
    return next(r for r in responses if r.status_code == ok)


def test_a_burst_of_approve_reject_and_withdraw_on_one_case_keeps_one_decision_and_its_timeline(api: Api) -> None:
    """The merchant's approve and reject race each other and the buyer's withdraw (which is still
    legal after either): one decision at most, one withdrawal at most, every other request a 409,
    and the timeline holds exactly the winners, in the order of their versions."""
    feed_order(api)
    case_id = file_case(api)["id"]
    merchant, buyer = api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")
    moves: list[Callable[[], httpx.Response]] = []
    for i in range(BURST):
        if i % 3 == 0:
            moves.append(lambda: merchant.post(f"/v1/after-sales/{case_id}/approve", json={"return_address": "杭州"}))
        elif i % 3 == 1:
            moves.append(
                lambda: merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"})
            )
        else:
            moves.append(lambda: buyer.post(f"/v1/after-sales/{case_id}/withdraw", json={}))
    responses = race(moves)
    assert all(r.status_code in (200, 409) for r in responses), [(r.status_code, r.text[:120]) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409)
    winners = sorted((r for r in responses if r.status_code == 200), key=lambda r: r.json()["version"])
    actions = [_action_of(r) for r in winners]
    assert 1 <= len(winners) <= 2 and actions.count("withdraw") <= 1, actions
    assert sum(a in ("approve", "reject") for a in actions) <= 1, actions
    case = buyer.get(f"/v1/after-sales/{case_id}").json()
    assert (case["status"], case["version"]) == (winners[-1].json()["status"], winners[-1].json()["version"])
    events = buyer.get(f"/v1/after-sales/{case_id}/events").json()["items"]
    assert [e["action"] for e in events] == ["file", *actions]


def _action_of(response: httpx.Response) -> str:
    return response.request.url.path.rsplit("/", 1)[1].replace("-", "_")


def test_a_burst_of_appeals_by_both_parties_files_one_and_a_burst_of_decisions_decides_it_once(api: Api) -> None:
    _, dispute_id = _disputed_case(api)
    rule = {"outcome": "partial_refund", "amount": 5000, "liable_party": "merchant", "rationale": "部分退款"}
    r = api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=rule)
    assert r.status_code == 200, r.text
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    appeals = [
        (lambda c=c: c.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "裁决有误"}))
        for c in [buyer, merchant] * (BURST // 2)
    ]
    appeal = _one_winner(race(appeals), 201).json()
    assert [a["id"] for a in buyer.get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]] == [appeal["id"]]
    agent = api.as_("agent", "agent-2")
    decisions = [
        (lambda d=d: agent.post(f"/v1/appeals/{appeal['id']}/decide", json={"decision": d, "rationale": "复核"}))
        for d in ["uphold", "overturn"] * (BURST // 2)
    ]
    decided = _one_winner(race(decisions), 200).json()
    stored = agent.get(f"/v1/appeals/{appeal['id']}").json()
    assert stored["status"] == decided["status"] and stored["decision"] == decided["decision"]


def test_a_burst_of_complaint_actions_has_one_winner(api: Api) -> None:
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    r = buyer.post("/v1/complaints", json={"category": "induced_review", "merchant_id": "m-1", "description": "返现"})
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    moves = [
        (lambda: merchant.post(f"/v1/complaints/{complaint_id}/reply", json={"reply": "已处理"})),
        (lambda: merchant.post(f"/v1/complaints/{complaint_id}/propose-solution", json={"solution": "补偿"})),
        (lambda: buyer.post(f"/v1/complaints/{complaint_id}/withdraw", json={})),
    ] * (BURST // 3)
    responses = race(moves)
    assert all(r.status_code in (200, 409) for r in responses), [(r.status_code, r.text[:120]) for r in responses]
    events = buyer.get(f"/v1/complaints/{complaint_id}/events").json()["items"]
    # Each winner moved the complaint one step: as many events after filing as 200s, no more.
    assert len(events) - 1 == sum(r.status_code == 200 for r in responses) >= 1
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409)


# ---------------------------------------------------------------------------------------------
# Hostile bodies and tokens on every write route of the OpenAPI document.


def _world(api: Api) -> dict[str, str]:
    """One subject of each kind: a pending case on o-1001, a ruled and appealed dispute on
    o-1002, a complaint, and an upload of each party."""
    feed_order(api, "o-1001")
    case_id = file_case(api, "o-1001")["id"]
    _, dispute_id = _disputed_case(api, "o-1002")
    rule = {"outcome": "partial_refund", "amount": 5000, "liable_party": "merchant", "rationale": "部分退款"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=rule).status_code == 200
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.post(f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "裁决有误"})
    assert r.status_code == 201, r.text
    appeal_id = r.json()["id"]
    r = api.as_("buyer", "b-1").post(
        "/v1/complaints", json={"category": "induced_review", "merchant_id": "m-1", "description": "返现"}
    )
    assert r.status_code == 201, r.text
    return {
        "order_id": "o-1001",
        "subject_id": case_id,
        "case_id": case_id,
        "dispute_id": dispute_id,
        "appeal_id": appeal_id,
        "complaint_id": r.json()["id"],
        "merchant_id": "m-1",
        "buyer_id": "b-1",
        "agent_id": "agent-1",
        "evidence_id": "ev_none",
        "refund_id": "rf_none",
        "endpoint_id": "whe_none",
        "delivery_id": "1",
    }


def _write_routes(api: Api, world: dict[str, str]) -> list[str]:
    """Every POST and PUT path of the OpenAPI document that takes a bearer token, its ids filled
    in from `world`. (The payment provider's callback is signed instead: tests/api/test_payments_api.py.)"""
    paths = api.anonymous.get("/openapi.json").json()["paths"]
    found = []
    for path, operations in paths.items():
        writes = [operations[m] for m in ("post", "put") if m in operations]
        if not writes or not all(op.get("security") for op in writes):
            continue
        kind = path.split("/")[2]
        subject = {"orders": "order_id", "after-sales": "case_id", "disputes": "dispute_id"}
        subject |= {"complaints": "complaint_id", "appeals": "appeal_id"}
        filled = path.replace("{subject_id}", world[subject[kind]] if kind in subject else "x")
        for name, value in world.items():
            filled = filled.replace("{" + name + "}", value)
        assert "{" not in filled, filled
        found.append(("put " if "put" in operations else "post ") + filled)
    assert len(found) >= 40, found
    return found


# Each is refused by every write route: not an object, not JSON, or a field no route has.
HOSTILE: list[bytes] = [
    b"[]",
    b'"approve"',
    b"1",
    b"\xff\xfe{",
    b"{",
    b'{"a":' * 300 + b"1" + b"}" * 300,
    b'{"zz_unknown": 1}',
    b'{"zz_unknown": null, "reason": ["a"], "evidence": "ev"}',
    b'{"zz_unknown": "\\u0000\\ud800", "amount": 1e308, "refund_amount": -1}',
    b'{"zz_unknown": 99999999999999999999999999999999999999999}',
    ('{"zz_unknown": "' + "长" * 100_000 + '"}').encode(),
    json.dumps({"reason": "x" * 300_000, "statement": None, "evidence": [None], "zz_unknown": []}).encode(),
]
ROLES: list[tuple[str, str, str | None]] = [
    ("admin", "admin-1", None),
    ("agent", "agent-2", None),
    ("buyer", "b-1", None),
    ("merchant", "m-1-staff", "m-1"),
    ("merchant", "m-2-staff", "m-2"),
    ("integration", "marketplace", None),
]


def _send(client: httpx.Client, route: str, body: bytes) -> httpx.Response:
    method, path = route.split(" ", 1)
    return client.request(method.upper(), path, content=body, headers={"Content-Type": "application/json"})


def test_hostile_bodies_on_every_write_route_by_every_role_are_problems_and_change_nothing(
    api: Api, runtime: Runtime
) -> None:
    world = _world(api)
    routes = _write_routes(api, world)
    clients = [api.as_(*who) for who in ROLES]
    before = db_state(runtime)
    sent = 0
    for i, route in enumerate(routes):
        for j, body in enumerate(HOSTILE):
            client = clients[(i + j) % len(clients)]
            r = _send(client, route, body)
            sent += 1
            # (403: a route that takes no body, such as rotate-secret, refuses the role before anything.)
            assert r.status_code in (403, 404, 413, 415, 422), f"{route} {body[:40]!r}: {r.status_code} {r.text[:200]}"
            assert_problem(r, r.status_code)
        for client in clients:
            r = _send(client, route, HOSTILE[6])
            assert 400 <= r.status_code < 500 and r.status_code != 429, f"{route}: {r.status_code} {r.text[:200]}"
            assert_problem(r, r.status_code)
    assert sent >= 40 * len(HOSTILE)
    assert db_state(runtime) == before


def _bad_token(kind: int) -> str:
    """A token the server must refuse: signed with another secret, expired, or for `system`."""
    now = SystemClock().now()
    if kind == 0:
        return mint("another-secret-of-at-least-thirty-two-bytes", sub="admin-1", role="admin", now=now)
    if kind == 1:
        return mint(SECRET, sub="agent-1", role="agent", now=now - timedelta(hours=13))
    return mint(SECRET, sub="system", role="system", now=now)


def test_a_forged_an_expired_and_a_system_token_are_401_on_every_write_route_and_change_nothing(
    api: Api, runtime: Runtime
) -> None:
    world = _world(api)
    routes = _write_routes(api, world)
    before = db_state(runtime)
    valid = {"approve": b'{"return_address": "x"}'}
    for i, route in enumerate(routes[:90]):  # under the failed-authentication budget of 100
        body = valid.get(route.rsplit("/", 1)[1], b"{}")
        r = api.anonymous.request(
            route.split(" ")[0].upper(),
            route.split(" ", 1)[1],
            content=body,
            headers={"Authorization": f"Bearer {_bad_token(i % 3)}", "Content-Type": "application/json"},
        )
        assert_problem(r, 401, "unauthenticated")
    assert db_state(runtime) == before


# ---------------------------------------------------------------------------------------------
# Defects: what the API promises and the database does not keep.


def _bound(kind: str, action: str, field: str) -> int:
    """The longest text the action's spec (and so its request model) takes for `field`."""
    found = next(f for f in KINDS[kind].machine.specs[action].fields if f.name == field)
    assert isinstance(found.bound, Text)
    return found.bound.max_length


def test_every_text_an_action_writes_fits_the_column_it_is_written_to() -> None:
    """The request models (and so the OpenAPI document and docs/actions.md) take a text up to its
    spec's bound; the column the spec writes it to must hold that much."""
    too_small = []
    for kind in KINDS.values():
        for spec in kind.machine.specs.values():
            for field in spec.fields:
                bound = field.bound
                longest = (
                    bound.max_length
                    if isinstance(bound, Text)
                    else max(map(len, bound.values))
                    if isinstance(bound, Choice)
                    else None
                )
                if longest is not None and field.name in spec.writes:
                    column = kind.table.c[spec.writes[field.name]]
                    length = getattr(column.type, "length", None)
                    if length is not None and length < longest:
                        too_small.append(f"{kind.name}.{spec.name}.{field.name} ≤ {longest} → {column}({length})")
    assert too_small == [], too_small


def test_a_shipment_as_long_as_the_spec_allows_is_taken_and_kept(api: Api) -> None:
    feed_order(api, upto="stocking")
    longest = _bound("order", "ship", "carrier")
    carrier, tracking = "顺" * longest, "SF" + "9" * (_bound("order", "ship", "tracking_number") - 2)
    r = api.as_("merchant", merchant_id="m-1").post(
        "/v1/orders/o-1001/ship", json={"carrier": carrier, "tracking_number": tracking}
    )
    assert r.status_code == 200, r.text
    stored = api.as_("buyer", "b-1").get("/v1/orders/o-1001").json()
    assert (stored["carrier"], stored["tracking_number"]) == (carrier, tracking)


def test_a_cancel_reason_as_long_as_the_spec_allows_is_taken(api: Api) -> None:
    feed_order(api, upto="stocking")
    reason = "不" * _bound("order", "cancel", "reason")
    r = api.as_("buyer", "b-1").post("/v1/orders/o-1001/cancel", json={"reason": reason})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"


def test_a_refusal_reason_and_a_return_shipment_as_long_as_the_spec_allows_are_taken(api: Api) -> None:
    feed_order(api, "o-1001")
    feed_order(api, "o-1002")
    refused = file_case(api, "o-1001")["id"]
    returned = file_case(api, "o-1002")["id"]
    merchant, buyer = api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")
    reason = max(REJECT_REASONS, key=len)  # (a code of the catalogue, no longer free text)
    r = merchant.post(
        f"/v1/after-sales/{refused}/reject",
        json={"reason": reason, "note": "说" * _bound("after_sale", "reject", "note")},
    )
    assert r.status_code == 200, r.text
    assert merchant.post(f"/v1/after-sales/{returned}/approve", json={"return_address": "杭州"}).status_code == 200
    ship = {name: name[0] * _bound("after_sale", "ship_return", name) for name in ("carrier", "tracking_number")}
    r = buyer.post(f"/v1/after-sales/{returned}/ship-return", json=ship)
    assert r.status_code == 200, r.text


def _long_sub_client(api: Api, role: str = "buyer") -> httpx.Client:
    token = mint(SECRET, sub="b-" + "1" * 98, role=role, now=SystemClock().now())
    return httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_token_whose_sub_the_store_cannot_hold_is_401(api: Api, runtime: Runtime) -> None:
    before = db_state(runtime)
    with _long_sub_client(api) as client:
        body = {"category": "induced_review", "merchant_id": "m-1", "description": "返现"}
        assert_problem(client.post("/v1/complaints", json=body), 401, "unauthenticated")
    assert db_state(runtime) == before


NUL_NAMED_UPLOAD = (
    b'--xx\r\nContent-Disposition: form-data; name="kind"\r\n\r\nchat_record\r\n'
    b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\nchat log\r\n--xx--\r\n"
)


def test_an_upload_the_database_refuses_leaves_no_file_behind(api: Api, runtime: Runtime) -> None:
    """Whatever a write answers, a refused one stores nothing: not a row, not a file."""
    assert db_state(runtime)["files"] == []
    with _long_sub_client(api) as client:
        r = client.post("/v1/evidence", data={"kind": "chat_record"}, files={"file": ("a.txt", b"chat", "text/plain")})
    r2 = api.as_("buyer", "b-1").post(
        "/v1/evidence", content=NUL_NAMED_UPLOAD, headers={"Content-Type": "multipart/form-data; boundary=xx"}
    )
    assert_problem(r, 401, "unauthenticated")  # a sub the store cannot hold is no caller
    assert r2.status_code == 201, r2.text  # the name is for display: its NUL is dropped
    assert r2.json()["filename"] == "ab.txt"
    after = db_state(runtime)
    taken = [x.json()["sha256"] for x in (r, r2) if x.status_code == 201]
    assert len(after["evidence"]) == len(taken)
    assert after["files"] == sorted({content_key(sha) for sha in taken}), (r.text[:100], r2.text[:100])


def test_a_nul_character_in_a_text_is_refused_on_both_databases(api: Api, runtime: Runtime) -> None:
    """PostgreSQL cannot store NUL: the request models refuse it first, so SQLite answers alike."""
    feed_order(api)
    case_id = file_case(api)["id"]
    before = db_state(runtime)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue", "note": "看\x00不见"}
    )
    assert_problem(r, 422, "validation_error")
    assert db_state(runtime) == before


def _uploads_written(runtime: Runtime) -> int:
    """Uploads whose bytes are written and wait for their row's commit to go into place."""
    root = Path(runtime.env.data_dir) / "evidence"
    return sum(1 for p in root.glob(".upload-*") if p.is_file()) if root.exists() else 0


def test_racing_uploads_under_one_key_with_different_files_store_only_the_winner_s_file(
    api: Api, runtime: Runtime, db_url: str
) -> None:
    """A careless client reusing one Idempotency-Key for different files at once: one upload is
    taken, the others are refused, and a refused one stores nothing. On PostgreSQL the uploads are
    held at their row's insert (another connection locks the evidence table) until every one has
    written its file, so each time all of them race for the key; SQLite's write lock serialises
    them at BEGIN, before any file is written."""
    buyer = api.as_("buyer", "b-1")
    uploads = 12

    def upload(i: int) -> httpx.Response:
        files = {"file": (f"{i}.txt", f"chat log {i}".encode(), "text/plain")}
        return buyer.post("/v1/evidence", data={"kind": "chat_record"}, files=files, headers={"Idempotency-Key": "k"})

    with ThreadPoolExecutor(uploads) as pool:
        if db_url == PG_URL:
            with runtime.engine.connect() as holder, holder.begin():
                holder.execute(sa.text("LOCK TABLE evidence IN EXCLUSIVE MODE"))
                futures = [pool.submit(upload, i) for i in range(uploads)]
                assert wait_until(lambda: _uploads_written(runtime) >= uploads, timeout=20)
        else:
            futures = [pool.submit(upload, i) for i in range(uploads)]
        responses = [f.result(timeout=60) for f in futures]
    taken = [r for r in responses if r.status_code == 201]
    assert len(taken) == 1, [(r.status_code, r.text[:100]) for r in responses]
    for r in responses:
        if r.status_code != 201:
            assert_problem(r, r.status_code)
            assert r.status_code in (409, 422)
    picture = db_state(runtime)
    sha = taken[0].json()["sha256"]
    assert len(picture["evidence"]) == 1 and sha in picture["evidence"][0]
    assert picture["files"] == [content_key(sha)]


# ---------------------------------------------------------------------------------------------
# Limits, as a client meets them.


def test_bodies_past_the_caps_are_413_problems_and_change_nothing(api: Api, runtime: Runtime) -> None:
    feed_order(api)
    case_id = file_case(api)["id"]
    buyer = api.as_("buyer", "b-1")
    before = db_state(runtime)
    cap = runtime.settings.max_body_bytes
    just_over = b'{"reason": "' + b"x" * (cap - 13) + b'"}'
    assert len(just_over) == cap + 1
    r = buyer.post(
        f"/v1/after-sales/{case_id}/withdraw", content=just_over, headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 413, "body_too_large")

    def chunks():
        for _ in range(cap // 65536 + 2):
            yield b" " * 65536

    r = buyer.post(
        f"/v1/after-sales/{case_id}/withdraw", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 413, "body_too_large")
    upload = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (25 * 1024 * 1024))
    r = buyer.post("/v1/evidence", data={"kind": "other"}, files={"file": ("big.png", upload, "image/png")})
    assert_problem(r, 413, "file_too_large")
    assert db_state(runtime) == before


def test_a_head_past_32_kib_is_a_431_problem(api: Api) -> None:
    buyer = api.as_("buyer", "b-1")
    for headers in ({"X-Big": "a" * 33 * 1024}, {f"X-H{i}": "a" * 400 for i in range(90)}):
        assert_problem(buyer.get("/v1/orders", headers=headers), 431)


def test_150_bad_tokens_in_a_row_turn_into_429_and_a_valid_token_still_passes(api: Api) -> None:
    statuses = [
        api.anonymous.get("/v1/orders", headers={"Authorization": f"Bearer bad-{i}"}).status_code for i in range(150)
    ]
    assert statuses == [401] * 100 + [429] * 50
    r = api.anonymous.get("/v1/orders", headers={"Authorization": "Bearer bad"})
    assert_problem(r, 429, "too_many_failed_authentications")
    assert int(r.headers["Retry-After"]) >= 1
    assert api.as_("buyer", "b-1").get("/v1/orders").status_code == 200


def test_after_the_failed_authentication_limit_health_still_answers(api: Api) -> None:
    for i in range(101):
        api.anonymous.get("/v1/orders", headers={"Authorization": f"Bearer bad-{i}"})
    assert api.anonymous.get("/healthz").status_code == 200


def test_the_docs_pages_load_every_script_and_style_from_the_server_itself(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        r = api.anonymous.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text[:200]
        assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', r.text)
        assert assets, r.text
        for url in assets:
            assert url.startswith("/"), url  # this origin, no CDN
            got = api.anonymous.get(url)
            assert got.status_code == 200 and got.content, (page, url, got.status_code)


# ---------------------------------------------------------------------------------------------
# Other tenants' ids, everywhere.


def _ghost(path: str, world: dict[str, str]) -> str:
    for key in ("order_id", "case_id", "dispute_id", "appeal_id", "complaint_id"):
        path = path.replace(world[key], world[key] + "x")
    return path


def test_another_tenant_s_ids_are_404_like_missing_ones_and_filters_show_nothing(api: Api, runtime: Runtime) -> None:
    world = _world(api)  # all of b-1 and shop m-1
    buyer = api.as_("buyer", "b-1")
    evidence_id = _upload(buyer)
    assert buyer.post(
        f"/v1/disputes/{world['dispute_id']}/evidence", json={"statement": "附图", "evidence": [evidence_id]}
    )
    r = api.as_("agent", "agent-1").post(
        "/v1/merchants/m-1/violations", json={"kind": "warning", "cause": "诱导好评", "after_sale_id": world["case_id"]}
    )
    assert r.status_code == 201, r.text
    feed_order(api, "o-2001", buyer="b-2", merchant="m-2")  # the outsiders have data of their own
    before = db_state(runtime)
    reads = [
        "/v1/orders/{order_id}",
        "/v1/orders/{order_id}/events",
        "/v1/after-sales/{case_id}",
        "/v1/after-sales/{case_id}/events",
        "/v1/after-sales/{case_id}/case-file",
        "/v1/after-sales/{case_id}/case-file.pdf",
        "/v1/disputes/{dispute_id}",
        "/v1/disputes/{dispute_id}/events",
        "/v1/disputes/{dispute_id}/appeals",
        "/v1/appeals/{appeal_id}",
        "/v1/complaints/{complaint_id}",
        "/v1/complaints/{complaint_id}/events",
        "/v1/evidence/{evidence_id}",
        "/v1/evidence/{evidence_id}/content",
    ]
    world["evidence_id"] = evidence_id
    for outsider in (api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")):
        for template in reads:
            path = template.format(**world)
            missing = outsider.get(template.format(**{k: f"{v}x" for k, v in world.items()}))
            got = outsider.get(path)
            assert_problem(got, 404, "not_found")
            assert got.json() == missing.json(), path
        for template in [p for p in _write_routes(api, world) if "{" not in p]:
            method, path = template.split(" ", 1)
            if path.startswith(
                ("/v1/merchants/m-1", "/v1/agents", "/v1/admin", "/v1/disputes/" + world["dispute_id"] + "/notes")
            ):
                continue  # staff only: a 403 by role, whoever's the id
            if not any(world[k] in path for k in ("order_id", "case_id", "dispute_id", "appeal_id", "complaint_id")):
                continue
            # Bodies are checked before ids: whatever comes back, a missing id gets the same.
            r = outsider.request(method.upper(), path, json={})
            ghost = outsider.request(method.upper(), _ghost(path, world), json={})
            assert r.status_code in (404, 422) and r.json() == ghost.json(), (path, r.text[:200], ghost.text[:200])
        for listing, params in [
            ("/v1/refunds", {"order_id": world["order_id"]}),
            ("/v1/refunds", {"after_sale_id": world["case_id"]}),
            ("/v1/orders", {"buyer_id": "b-1"}),
            ("/v1/orders", {"merchant_id": "m-1"}),
            ("/v1/after-sales", {"order_id": world["order_id"]}),
            ("/v1/after-sales", {"merchant_id": "m-1"}),
            ("/v1/complaints", {"merchant_id": "m-1"}),
        ]:
            r = outsider.get(listing, params=params)
            assert r.status_code == 200 and r.json()["items"] == [], (listing, params, r.text[:200])
    shop = api.as_("merchant", merchant_id="m-2")
    for path in ("/v1/merchants/m-1/violations", "/v1/merchants/m-1/standing"):
        assert_problem(shop.get(path), 404)
    r = shop.get("/v1/settlements", params={"merchant_id": "m-1"})
    assert r.status_code == 200 and r.json()["items"] == []
    assert db_state(runtime) == before


def test_citing_another_tenant_s_evidence_in_any_action_is_422_and_changes_nothing(api: Api, runtime: Runtime) -> None:
    world = _world(api)
    theirs = _upload(api.as_("buyer", "b-1"))
    mine_order = feed_order(api, "o-2001", buyer="b-2", merchant="m-2")["id"]
    stranger, shop = api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")
    own_case = file_case(api, mine_order, buyer="b-2")["id"]
    before = db_state(runtime)
    attempts = [
        (
            stranger,
            "/v1/after-sales",
            {"order_id": mine_order, "type": "refund_only", "reason": "damaged", "evidence": [theirs]},
        ),
        (stranger, f"/v1/after-sales/{own_case}/escalate", {"statement": "介入", "evidence": [theirs]}),
        (shop, f"/v1/after-sales/{own_case}/reject", {"reason": "no_quality_issue", "evidence": [theirs]}),
        (
            stranger,
            "/v1/complaints",
            {"category": "induced_review", "merchant_id": "m-2", "description": "x", "evidence": [theirs]},
        ),
        (
            api.as_("merchant", merchant_id="m-1"),
            f"/v1/disputes/{world['dispute_id']}/evidence",
            {"statement": "x", "evidence": [theirs]},
        ),
    ]
    for client, path, body in attempts:
        r = client.post(path, json=body)
        assert r.status_code in (409, 422), (path, r.status_code, r.text[:200])
        assert_problem(r, r.status_code)
        if r.status_code == 422:
            assert any(e["loc"][-1] == "evidence" for e in r.json().get("errors", [])), (path, r.text[:300])
    assert db_state(runtime) == before


# ---------------------------------------------------------------------------------------------
# One Idempotency-Key, reused across roles, shops, paths and bodies.


def test_one_idempotency_key_reused_across_callers_paths_and_bodies(api: Api, runtime: Runtime) -> None:
    feed_order(api, "o-1001")
    feed_order(api, "o-1002")
    first, second = file_case(api, "o-1001")["id"], file_case(api, "o-1002")["id"]
    key = {"Idempotency-Key": "same-key"}
    buyer = api.as_("buyer", "b-1")
    done = buyer.post(f"/v1/after-sales/{first}/withdraw", json={}, headers=key)
    assert done.status_code == 200 and "Idempotent-Replayed" not in done.headers
    before = db_state(runtime)
    # The same caller: another path or another body is a misuse, the same request a replay.
    assert_problem(
        buyer.post(f"/v1/after-sales/{second}/withdraw", json={}, headers=key), 422, "idempotency_key_reused"
    )
    assert_problem(
        buyer.post(f"/v1/after-sales/{first}/withdraw", json={"reason": "x"}, headers=key),
        422,
        "idempotency_key_reused",
    )
    again = buyer.post(f"/v1/after-sales/{first}/withdraw", json={}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == done.json() and again.headers["ETag"] == done.headers["ETag"]
    assert db_state(runtime) == before
    # Other callers' keys are their own: nobody is answered with the buyer's stored response.
    for other in (
        api.as_("merchant", merchant_id="m-1"),
        api.as_("merchant", "m-1-staff", merchant_id="m-2"),
        api.as_("buyer", "b-2"),
        api.as_("agent", "agent-1"),
    ):
        r = other.post(f"/v1/after-sales/{first}/withdraw", json={}, headers=key)
        assert "Idempotent-Replayed" not in r.headers, r.text
        assert r.status_code in (403, 404), r.text
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{second}/approve", json={"return_address": "杭州"}, headers=key
    )
    assert r.status_code == 200 and r.json()["status"] != done.json()["status"], r.text


def test_hostile_query_parameters_on_every_listing_are_answered_never_a_500(api: Api) -> None:
    _world(api)
    hostile = [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "1e9"},
        {"limit": "9" * 40},
        {"cursor": "\x00"},
        {"cursor": "a" * 5000},
        {"cursor": "W1siMjAyNiJdXQ"},
        {"status": "\x00"},
        {"merchant_id": "\x00"},
        {"buyer_id": "长" * 3000},
        {"order_id": "\x00"},
        {"after_sale_id": "\x00"},
        {"status": ["a", "b"]},
    ]
    listings = ["/v1/orders", "/v1/after-sales", "/v1/disputes", "/v1/complaints", "/v1/refunds", "/v1/settlements"]
    for who in (api.as_("admin", "admin-1"), api.as_("merchant", merchant_id="m-1"), api.as_("buyer", "b-1")):
        for path in listings:
            for params in hostile:
                r = who.get(path, params=params)
                assert r.status_code in (200, 403, 422), (path, params, r.status_code, r.text[:200])
                if r.status_code != 200:
                    assert_problem(r, r.status_code)
