"""Every console route x caller x own/foreign tenant, against a table written out by hand from
docs/console.md (who may see which page, who may post which form), not derived from the code:

- no session: a 303 to the sign-in page (SIGN_IN), nothing else about the page is told;
- another tenant's object (another buyer's order, another shop's case): the 404 page, the same as
  a missing one; the pages of a role (the buyer's, the merchant's) are a 404 page to anyone else;
- the platform's desk to a buyer or a merchant: the 403 page (as the API refuses its queue);
- a form of a page the caller sees but whose action its role may not take (an admin's message, a
  buyer's try at the shop's approve): back with the refusal in a notice (TOLD), nothing done;
- otherwise admitted: a page answers 200 (or its redirect), a form 303 with what came of it.

Every denied request is sent first, on the untouched marketplace, and together they must write
nothing. A console route the table does not name fails the test, so a new page cannot skip it.
The marketplace is the API matrix's (tests/contract/test_authz_matrix.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from aftersales.api.app import create_app
from api_builders import db_state
from console_client import CSRF, Console
from contract.test_authz_matrix import _routes, _world
from media_samples import PNG

OK, SIGN_IN, TOLD = "ok", "sign-in", "told"
CALLERS = ("anonymous", "buyer own", "buyer foreign", "merchant own", "merchant foreign", "agent", "admin")
PEOPLE = {
    "buyer": ("buyer", "b-1", None),
    "merchant": ("merchant", "m-1-staff", "m-1"),
    "agent": ("agent", "agent-1", None),
}
PEOPLE["admin"] = ("admin", "admin-1", None)


@dataclass(frozen=True)
class Row:
    subject: str | None  # which thing of the tenant the path names; None: no tenant involved
    expect: tuple[str | int, ...]  # one outcome per CALLERS column
    form: Callable[[dict[str, str]], dict[str, Any]] | None = None  # the form's fields (CSRF added)
    files: bool = False  # the form carries a photo


def _f(**fields: Any) -> Callable[[dict[str, str]], dict[str, Any]]:
    return lambda _: fields


#             anon     b-own b-for m-own m-for agent admin
EVERYONE = (SIGN_IN, OK, OK, OK, OK, OK, OK)
PARTIES = (SIGN_IN, OK, 404, OK, 404, OK, OK)
BUYERS = (SIGN_IN, OK, 404, 404, 404, 404, 404)
BUYER_PAGE = (SIGN_IN, OK, OK, 404, 404, 404, 404)  # a buyer page of no one's object
SHOPS = (SIGN_IN, 404, 404, OK, OK, 404, 404)
DESK = (SIGN_IN, 403, 403, 403, 403, OK, OK)
NOWHERE = (SIGN_IN, 404, 404, 404, 404, 404, 404)
PLATFORM_PAGE = (SIGN_IN, 404, 404, 404, 404, OK, OK)  # the dashboard: the same 404 as a missing page
CASE_FORM = _f(quantity_0="1", type="refund_only", reason="damaged")

TABLE: dict[str, Row] = {
    "GET /console/": Row(None, EVERYONE),  # to the role's home
    "GET /console/sign-in": Row(None, (OK,) * 7),
    # The caller's own token (anonymous: none, 401); sent from a fresh browser.
    "POST /console/sign-in": Row(None, (401, OK, OK, OK, OK, OK, OK)),
    "POST /console/sign-out": Row(None, EVERYONE),
    "GET /console/static/{name}": Row(None, (OK,) * 7),
    "GET /console/after-sales": Row(None, EVERYONE),
    "GET /console/after-sales/{case_id}": Row("case", PARTIES),
    "GET /console/after-sales/{case_id}/case-file.json": Row("case", PARTIES),
    "GET /console/after-sales/{case_id}/case-file.pdf": Row("case", PARTIES),
    # Messages: the case's buyer, its shop and customer service; an admin is told no.
    "POST /console/after-sales/{case_id}/messages": Row("case", (SIGN_IN, OK, 404, OK, 404, OK, TOLD), _f(body="你好")),
    "POST /console/after-sales/{case_id}/evidence": Row("case", BUYERS, _f(body="照片"), files=True),
    "GET /console/evidence/{evidence_id}": Row("evidence", PARTIES),
    # The generic action POST, by the action each row names: the case's or dispute's own rules.
    "POST /console/act/{kind}/{subject_id}/{action} after_sale/approve": Row(
        "case", (SIGN_IN, TOLD, 404, OK, 404, TOLD, TOLD), _f(return_address="杭州市西湖区 1 号")
    ),
    "POST /console/act/{kind}/{subject_id}/{action} after_sale/withdraw": Row(
        "case", (SIGN_IN, OK, 404, TOLD, 404, TOLD, TOLD)
    ),
    "POST /console/act/{kind}/{subject_id}/{action} dispute/assign": Row(
        "dispute", (SIGN_IN, TOLD, 404, TOLD, 404, OK, OK), _f(agent_id="agent-1")
    ),
    "POST /console/act/{kind}/{subject_id}/{action} dispute/rule": Row(
        "dispute",
        (SIGN_IN, TOLD, 404, TOLD, 404, OK, TOLD),
        _f(outcome="deny", liable_party="none", rationale="证据不足"),
    ),
    "POST /console/act/{kind}/{subject_id}/{action} complaint/decide": Row(
        "complaint", (SIGN_IN, TOLD, 404, TOLD, 404, OK, OK), _f(decision="dismissed", rationale="证据不足")
    ),
    "POST /console/act/{kind}/{subject_id}/{action} nothing/at-all": Row("case", NOWHERE),
    # Appeals: only the losing party (the buyer here); the winner and the platform are told no.
    "POST /console/disputes/{dispute_id}/appeals": Row(
        "ruled", (SIGN_IN, OK, 404, TOLD, 404, TOLD, TOLD), _f(grounds="证据未被采纳")
    ),
    "GET /console/orders": Row(None, BUYER_PAGE),
    "GET /console/merchant/metrics": Row(None, SHOPS),
    "GET /console/dashboard": Row(None, PLATFORM_PAGE),
    "GET /console/orders/{order_id}": Row("order_done", BUYERS),
    "POST /console/orders/{order_id}/after-sales": Row("order_done", BUYERS, CASE_FORM),
    "GET /console/orders/{order_id}/complain": Row("order_done", BUYERS),
    "POST /console/orders/{order_id}/complain": Row(
        "order_done", BUYERS, _f(category="induced_review", description="好评返现")
    ),
    "GET /console/orders/{order_id}/review": Row("order_done", BUYERS),
    "POST /console/orders/{order_id}/review": Row("order_done", BUYERS, _f(rating="5", text="好")),
    "POST /console/after-sales/bulk-approve": Row("case", (SIGN_IN, 404, 404, OK, TOLD, 404, 404)),
    "GET /console/merchant/replies": Row(None, SHOPS),
    "POST /console/merchant/replies": Row(None, SHOPS, _f(title="退货地址", body="杭州")),
    "POST /console/merchant/replies/{template_id}/delete": Row("template", (SIGN_IN, 404, 404, OK, 404, 404, 404)),
    "GET /console/merchant/standing": Row(None, SHOPS),
    "GET /console/disputes": Row(None, DESK),
    "GET /console/disputes/{dispute_id}": Row("dispute", DESK),
    "POST /console/disputes/{dispute_id}/notes": Row("dispute", DESK, _f(body="内部备注")),
    "GET /console/appeals": Row(None, DESK),
    # An agent other than the one who ruled (agent-2 ruled); an admin does not decide appeals.
    "POST /console/appeals/{appeal_id}/decide": Row(
        "appeal", (SIGN_IN, 403, 403, 403, 403, OK, TOLD), _f(decision="uphold", rationale="维持原判")
    ),
    "GET /console/complaints": Row(None, DESK),
    "GET /console/complaints/{complaint_id}": Row("complaint", DESK),
    "GET /console/merchants/{merchant_id}": Row("merchant", DESK),
    "GET /console/policy": Row(None, DESK),
    # Off the demo the clock does not exist (tests/console/test_demo_clock.py has it on).
    "POST /console/demo/clock": Row(None, NOWHERE, _f(hours="24")),
}


def _route(key: str) -> str:
    return " ".join(key.split(" ")[:2])


def test_the_table_covers_every_console_route_of_the_app():
    served = {r for r in _routes(create_app(None).routes) if r.split(" ", 1)[1].startswith("/console")}
    named = {_route(key) for key in TABLE}
    assert served - named == set(), "console routes missing from the table"
    assert named - served == set(), "the table names console routes the app no longer has"


# --- sending ------------------------------------------------------------------------------------


def _people(api: Any) -> dict[str, Console | None]:
    out: dict[str, Console | None] = {"anonymous": None}
    for caller, (role, sub, shop) in PEOPLE.items():
        out[caller] = Console(api, role, sub, shop)
    return out


def _path(key: str, row: Row, things: dict[str, str]) -> str:
    path = _route(key).split(" ", 1)[1]
    if key.count(" ") == 2:  # a row of the generic action POST: kind/action
        kind, action = key.rsplit(" ", 1)[1].split("/")
        path = path.replace("{kind}", kind).replace("{action}", action)
    if row.subject is not None:
        for name in ("case_id", "subject_id", "order_id", "dispute_id", "appeal_id", "complaint_id", "evidence_id"):
            path = path.replace(f"{{{name}}}", things[row.subject])
        path = path.replace("{merchant_id}", things["merchant"]).replace("{template_id}", things["template"])
    return path.replace("{name}", "console.css")


def _send(api: Any, person: Console | None, caller: str, key: str, row: Row, things: dict[str, str]) -> httpx.Response:
    method = key.split(" ", 1)[0]
    path = _path(key, row, things)
    fresh = httpx.Client(base_url=api.base_url, timeout=30, follow_redirects=False)
    if key == "POST /console/sign-in":
        data = {"token": api.token(*PEOPLE[caller])} if caller in PEOPLE else {}
        return fresh.post(path, data=data)
    if key == "POST /console/sign-out" and caller in PEOPLE:
        person = Console(api, *PEOPLE[caller])  # its own session to end, not the table's caller's
    http = person.http if person else fresh
    if method == "GET":
        return http.get(path)
    form = dict(row.form(things)) if row.form else {}
    if "quantity_0" in form:
        form["quantity-0"] = form.pop("quantity_0")
    if key == "POST /console/after-sales/bulk-approve":
        form["case"] = f"{things['case']}@1"
    if person is not None:
        found = CSRF.search(person.get("/console/after-sales").text)
        assert found, caller
        form["csrf"] = found.group(1)
    files = {"photos": ("p.png", io.BytesIO(PNG), "image/png")} if row.files else None
    return http.post(path, data=form, files=files)


def _outcome(r: httpx.Response, expected: Any) -> bool:
    html = r.headers.get("content-type", "").startswith("text/html")
    if expected == SIGN_IN:
        return r.status_code == 303 and r.headers["location"].startswith("/console/sign-in?next=")
    if expected == TOLD:
        return r.status_code == 303 and "false" in (r.cookies.get("aftersales_flash") or "")
    if isinstance(expected, int) and expected in (403, 404):
        return r.status_code == expected and html
    return r.status_code == expected


def _admitted(r: httpx.Response, method: str) -> bool:
    if r.status_code == 303:
        return not r.headers["location"].startswith("/console/sign-in?")
    return r.status_code == 200 if method == "GET" else r.status_code in (200, 422)


def _cells() -> list[tuple[str, str, str, Row, Any]]:
    cells = []
    for key, row in TABLE.items():
        assert len(row.expect) == len(CALLERS), key
        for column, expected in zip(CALLERS, row.expect, strict=True):
            caller, _, tenant = column.partition(" ")
            if tenant == "foreign" and row.subject is None:
                assert expected == row.expect[CALLERS.index(f"{caller} own")], (key, column)
                continue
            cells.append((key, column, caller, row, expected))
    return cells


def test_every_console_route_caller_and_tenant_gets_the_outcome_of_the_table(api, runtime):
    world = _world(api)
    people = _people(api)
    cells = _cells()
    wrong: list[str] = []
    before = db_state(runtime)
    for key, column, caller, row, expected in cells:
        if expected == OK:
            continue
        r = _send(api, people[caller], caller, key, row, world[column.partition(" ")[2] or "own"])
        if not _outcome(r, expected):
            wrong.append(f"{key} as {column}: expected {expected}, got {r.status_code} {r.headers.get('location')}")
    if db_state(runtime) != before:
        wrong.append("the denied requests above wrote something")
    foreign = world["foreign"]
    for key, column, caller, row, expected in cells:
        if expected != OK:
            continue
        r = _send(api, people[caller], caller, key, row, world[column.partition(" ")[2] or "own"])
        if not _admitted(r, key.split(" ")[0]):
            wrong.append(f"{key} as {column}: expected it admitted, got {r.status_code} {r.headers.get('location')}")
        elif caller in ("buyer", "merchant") and r.status_code == 200 and "text/html" in r.headers["content-type"]:
            leaked = [name for name in ("case", "order", "dispute") if foreign[name] in r.text]
            if leaked and column.endswith("own"):
                wrong.append(f"{key} as {column}: shows the other tenant's {leaked}")
    assert not wrong, f"{len(wrong)} of {len(cells)} cells differ from the table:\n" + "\n".join(wrong)
