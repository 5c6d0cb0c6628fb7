"""The console probed from outside, as an attacker would: cookies forged, replayed and planted,
CSRF tokens swapped and forms posted from another site, other tenants' ids in every field that
names something, redirects out of the console, hostile names and bodies, bursts of one form.
Each probe is a finding (a regression test of its fix) or a guard of what already held."""

from __future__ import annotations

import dataclasses
import io
import random
import re

import httpx
import pytest
from PIL import Image

from aftersales import demo
from aftersales.runtime import Runtime
from api_builders import db_state, feed_order, file_case, race
from console_client import CSRF, Console
from media_samples import PDF, PNG

XSS = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def _case(api, n, *, buyer="b-1", merchant="m-1", **over):
    feed_order(api, f"o-{n}", buyer=buyer, merchant=merchant)
    return file_case(api, f"o-{n}", buyer=buyer, **over)


def _anon(api):
    return httpx.Client(base_url=api.base_url, timeout=30, follow_redirects=False)


# --- sessions -----------------------------------------------------------------------------------


def test_tampered_and_foreign_cookies_are_no_session(api):
    person = Console(api, "merchant", merchant_id="m-1")
    token = person.http.cookies.get("aftersales_session")
    for forged in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token + "x",
        "",
        "../" * 14 + "a",
        "%00" * 14 + "a",
    ):
        thief = _anon(api)
        thief.cookies.set("aftersales_session", forged, path="/console")
        assert thief.get("/console/after-sales").status_code == 303, forged
    # Another shop's cookie replayed is that shop's session: it sees that shop, never m-2's cases.
    mine = _case(api, 1, merchant="m-2")
    replayed = _anon(api)
    replayed.cookies.set("aftersales_session", token, path="/console")
    assert replayed.get(f"/console/after-sales/{mine['id']}").status_code == 404


def test_the_marketplace_s_machine_token_signs_no_one_in(api):
    """Found: the order feed's token started a session that read every case page."""
    r = _anon(api).post("/console/sign-in", data={"token": api.token("integration", "marketplace")})
    assert r.status_code == 401 and "aftersales_session" not in r.cookies


def test_sign_in_issues_a_fresh_token_and_ends_the_planted_one(api):
    """Fixation: a session token planted in the browser before sign-in never stays a session."""
    attacker = Console(api, "buyer", "b-9")
    planted = attacker.http.cookies.get("aftersales_session")
    victim = _anon(api)
    victim.cookies.set("aftersales_session", planted, path="/console")
    r = victim.post("/console/sign-in", data={"token": api.token("buyer", "b-1")})
    fresh = r.cookies.get("aftersales_session")
    assert r.status_code == 303 and fresh and fresh != planted
    # The planted session ended with the sign-in (found: it lived on beside the new one).
    assert attacker.get("/console/orders").status_code == 303


def test_sign_out_needs_the_csrf_token_and_other_sessions_tokens_do_not_count(api):
    one, two = Console(api, "buyer", "b-1"), Console(api, "buyer", "b-1")
    before = db_state(api.runtime)
    assert one.http.post("/console/sign-out", data={}).status_code == 403
    assert one.http.post("/console/sign-out", data={"csrf": two.csrf("/console/orders")}).status_code == 403
    assert db_state(api.runtime) == before and one.get("/console/orders").status_code == 200


def test_a_csrf_token_of_another_session_is_refused_on_every_form(api):
    case = _case(api, 1, type="refund_only")
    merchant, other = Console(api, "merchant", merchant_id="m-1"), Console(api, "merchant", merchant_id="m-1")
    before = db_state(api.runtime)
    theirs = other.csrf()
    for path, data in (
        (f"/console/act/after_sale/{case['id']}/approve", {"version": "1"}),
        ("/console/after-sales/bulk-approve", {"case": f"{case['id']}@1"}),
        (f"/console/after-sales/{case['id']}/messages", {"body": "hi"}),
        ("/console/merchant/replies", {"title": "t", "body": "b"}),
    ):
        r = merchant.http.post(path, data={"csrf": theirs, **data})
        assert r.status_code == 403, path
    assert db_state(api.runtime) == before


def test_forms_posted_from_another_site_are_refused_even_with_the_token(api):
    """Defence in depth (found: only the token stood in the way): Sec-Fetch-Site or Origin of
    another site is a 403 before the form is read; our own pages' posts pass."""
    case = _case(api, 1, type="refund_only")
    merchant = Console(api, "merchant", merchant_id="m-1")
    before = db_state(api.runtime)
    path = f"/console/after-sales/{case['id']}/messages"
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        r = merchant.http.post(path, data={"csrf": merchant.csrf(), "body": "hi"}, headers=headers)
        assert r.status_code == 403, headers
    assert db_state(api.runtime) == before
    own = api.base_url.split("//", 1)[1]
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": f"http://{own}"}):
        r = merchant.http.post(path, data={"csrf": merchant.csrf(), "body": "hi"}, headers=headers)
        assert r.status_code == 303, headers
    # The marketplace hands a person over from its own site: that sign-in stays open.
    r = _anon(api).post(
        "/console/sign-in", data={"token": api.token("buyer", "b-1")}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 303


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/console/../v1/orders",
        "/console/%2e%2e/v1/orders",
        "/console/.%2E/v1/orders",
        "/console/\t/evil",
        "/console/x\r\nSet-Cookie: a=b",
        "javascript:alert(1)",
        "/console\\evil",
        "/console/a/%5c%5cevil",
    ],
)
def test_back_and_next_never_leave_the_console(api, target):
    """Found: `/console/../v1` and its encoded forms passed (browsers resolve dot segments)."""
    r = _anon(api).post("/console/sign-in", data={"token": api.token("buyer", "b-1"), "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/console/", target
    merchant = Console(api, "merchant", merchant_id="m-1")
    r = merchant.http.post("/console/after-sales/bulk-approve", data={"csrf": merchant.csrf(), "back": target})
    assert r.headers["location"] == "/console/", target


# --- other tenants' ids in the forms ------------------------------------------------------------


def test_other_tenants_ids_in_form_fields_are_refused_and_change_nothing(api):
    mine = _case(api, 1, type="refund_only", reason="damaged")
    theirs = _case(api, 2, buyer="b-2", merchant="m-2", type="refund_only", reason="damaged")
    b2 = api.as_("buyer", "b-2")
    foreign_photo = b2.post("/v1/evidence", files={"file": ("p.png", PNG)}, data={"kind": "product_media"}).json()
    m2 = api.as_("merchant", merchant_id="m-2")
    foreign_template = m2.post("/v1/merchants/m-2/reply-templates", json={"title": "t", "body": "机密"}).json()
    book = {"name": "二号店", "return_addresses": [{"id": "m2-home", "name": "王", "phone": "1", "address": "秘密"}]}
    assert api.as_("integration", "marketplace").put("/v1/merchants/m-2", json=book).status_code == 200
    merchant, buyer = Console(api, "merchant", merchant_id="m-1"), Console(api, "buyer", "b-1")
    before = db_state(api.runtime)
    csrf = merchant.csrf()
    back = f"/console/after-sales/{mine['id']}"
    for data in (
        {"reason": "no_quality_issue", "evidence": foreign_photo["id"]},
        {"reason": "no_quality_issue", "evidence": [foreign_photo["id"]] * 500},
    ):
        merchant.http.post(f"/console/act/after_sale/{mine['id']}/reject", data={"csrf": csrf, "back": back, **data})
    merchant.http.post(
        f"/console/act/after_sale/{mine['id']}/approve", data={"csrf": csrf, "return_address_id": "m2-home"}
    )
    merchant.http.post(
        f"/console/after-sales/{mine['id']}/messages", data={"csrf": csrf, "template_id": foreign_template["id"]}
    )
    assert (
        merchant.http.post(
            f"/console/merchant/replies/{foreign_template['id']}/delete", data={"csrf": csrf}
        ).status_code
        == 404
    )
    # Another tenant's subject in the URL is the 404 page, whatever the form says.
    assert merchant.http.post(f"/console/act/after_sale/{theirs['id']}/approve", data={"csrf": csrf}).status_code == 404
    bcsrf = buyer.csrf("/console/orders")
    assert buyer.http.post(f"/console/act/after_sale/{theirs['id']}/withdraw", data={"csrf": bcsrf}).status_code == 404
    assert (
        buyer.http.post("/console/disputes/dp_missing/appeals", data={"csrf": bcsrf, "grounds": "x"}).status_code == 404
    )
    assert db_state(api.runtime) == before
    assert _status(api, mine["id"])["status"] == "pending_merchant"
    assert foreign_photo["id"] not in _status(api, mine["id"])["evidence"]


def _status(api, case_id):
    return api.as_("agent").get(f"/v1/after-sales/{case_id}").json()


# --- malformed input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["NaN", "sNaN", "Infinity", "-1", "1e308", "1e999999999", "0.001", "9" * 40, "１２３.4.5", "¥-0"]
)
def test_hostile_amounts_are_a_form_error_never_a_500(api, value):
    """Found: "sNaN" and "1e999999999" raised from Decimal (500)."""
    case = _case(api, 1, type="refund_only", reason="damaged")
    merchant = Console(api, "merchant", merchant_id="m-1")
    before = db_state(api.runtime)
    r = merchant.act("after_sale", case["id"], "offer", version=1, amount=value)
    assert r.status_code == 303 and db_state(api.runtime) == before, value


@pytest.mark.parametrize("version", ["²", "10" * 15, str(10**30), "-1", "1.0", "NaN", "\xff"])
def test_hostile_versions_and_numbers_are_a_form_error_never_a_500(api, version):
    """Found: str.isdigit() takes "²", which int() refuses (500); and a version of 10**30 was
    read as "no version", skipping the check it is there for."""
    case = _case(api, 1, type="refund_only", reason="damaged")
    merchant = Console(api, "merchant", merchant_id="m-1")
    before = db_state(api.runtime)
    r = merchant.act("after_sale", case["id"], "approve", version=version)
    assert r.status_code == 303 and db_state(api.runtime) == before
    r = merchant.http.post(
        "/console/after-sales/bulk-approve", data={"csrf": merchant.csrf(), "case": f"{case['id']}@{version}"}
    )
    assert r.status_code == 303 and db_state(api.runtime) == before
    assert merchant.get(f"/console/after-sales?limit={version}").status_code in (200, 400)


def test_quantities_and_ratings_of_odd_digits_are_form_errors(api):
    feed_order(api, "o-1")
    buyer = Console(api, "buyer", "b-1")
    csrf = buyer.csrf("/console/orders/o-1")
    before = db_state(api.runtime)
    for quantity in ("²", "1e3", "-1", "9" * 40, "NaN"):
        r = buyer.http.post(
            "/console/orders/o-1/after-sales",
            data={"csrf": csrf, "quantity-0": quantity, "type": "refund_only", "reason": "damaged"},
        )
        assert r.status_code == 422, quantity
        r = buyer.http.post("/console/orders/o-1/review", data={"csrf": csrf, "rating": quantity})
        assert r.status_code in (404, 422), quantity
    assert db_state(api.runtime) == before


def test_huge_and_crowded_bodies_are_refused_without_a_500(api):
    case = _case(api, 1, type="refund_only", reason="damaged")
    merchant = Console(api, "merchant", merchant_id="m-1")
    csrf = merchant.csrf()
    before = db_state(api.runtime)
    path = f"/console/after-sales/{case['id']}/messages"
    big = merchant.http.post(
        path,
        content=b"csrf=" + b"a" * (100 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    crowded = merchant.http.post(
        path,
        content="&".join(f"f{i}=1" for i in range(5000)) + f"&csrf={csrf}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= crowded.status_code < 500
    files = [("evidence__upload", (f"{i}.png", PNG, "image/png")) for i in range(30)]
    many = merchant.http.post(
        f"/console/act/after_sale/{case['id']}/reject",
        data={"csrf": csrf, "reason": "no_quality_issue"},
        files=files,
    )
    assert many.status_code == 303 and "20" in many.cookies["aftersales_flash"]
    assert db_state(api.runtime) == before
    # Bytes that are not UTF-8 (raw or %-encoded): read with replacement characters, or refused.
    for raw in (b"body=%FF%FE%00", b"body=\xff\xfe", b"template_id=%C0%AF"):
        odd = merchant.http.post(
            path, content=raw + f"&csrf={csrf}".encode(), headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert odd.status_code in (303, 400, 422), raw


# --- names and files shown back -----------------------------------------------------------------


def test_hostile_text_and_file_names_are_inert_in_pages_and_headers(api):
    api.as_("integration", "marketplace").put("/v1/buyers/b-1", json={"display_name": XSS})
    api.as_("integration", "marketplace").put("/v1/merchants/m-1", json={"name": XSS})
    feed_order(api, "o-1")
    b1 = api.as_("buyer", "b-1")
    up = b1.post(
        "/v1/evidence",
        files={"file": ('x"\r\nSet-Cookie: a=b;\u202egnp.exe', PNG, "image/png")},
        data={"kind": "product_media"},
    ).json()
    svg = b1.post(
        "/v1/evidence",
        files={"file": ("a.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')},
        data={"kind": "other"},
    )
    case = file_case(api, "o-1", description=XSS, evidence=[up["id"]])
    b1.post(f"/v1/after-sales/{case['id']}/messages", json={"body": XSS})
    for person in (Console(api, "buyer", "b-1"), Console(api, "merchant", merchant_id="m-1"), Console(api, "agent")):
        page = person.get(f"/console/after-sales/{case['id']}")
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        got = person.get(f"/console/evidence/{up['id']}?inline=true")
        assert got.status_code == 200
        assert "\r" not in got.headers["content-disposition"] and "\u202e" not in got.headers["content-disposition"]
        assert (
            got.headers["content-security-policy"] == "sandbox" and got.headers["x-content-type-options"] == "nosniff"
        )
        assert "set-cookie" not in got.headers
    # A file that is not a raster image is never shown inline as a page of ours; downloaded, it
    # is sandboxed and never sniffed.
    pdf = b1.post("/v1/evidence", files={"file": ("a.pdf", PDF)}, data={"kind": "other"}).json()
    buyer = Console(api, "buyer", "b-1")
    assert svg.status_code == 201, svg.text
    for evidence_id in (svg.json()["id"], pdf["id"]):
        assert buyer.get(f"/console/evidence/{evidence_id}?inline=true").status_code == 400
        got = buyer.get(f"/console/evidence/{evidence_id}")
        assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment")
        assert (
            got.headers["content-security-policy"] == "sandbox" and got.headers["x-content-type-options"] == "nosniff"
        )


def test_static_assets_name_only_their_own_files(api):
    http = _anon(api)
    assert http.get("/console/static/console.css").status_code == 200
    for name in (
        "..%2F..%2Fpyproject.toml",
        "..%2Fpages%2Fsignin.py",
        "%2e%2e/render.py",
        "console.css%00",
        "CONSOLE.CSS",
    ):
        assert http.get(f"/console/static/{name}").status_code == 404, name


# --- bursts -------------------------------------------------------------------------------------


def _events(api, case_id):
    return [e["action"] for e in api.as_("agent").get(f"/v1/after-sales/{case_id}/events").json()["items"]]


def test_eight_concurrent_approvals_apply_once_and_the_others_are_told(api):
    case = _case(api, 1, type="refund_only", reason="damaged")
    people = [Console(api, "merchant", merchant_id="m-1") for _ in range(8)]
    tokens = [p.csrf() for p in people]
    path = f"/console/act/after_sale/{case['id']}/approve"
    back = f"/console/after-sales/{case['id']}"
    results = race(
        [
            (lambda p=p, t=t: p.http.post(path, data={"csrf": t, "version": "1", "back": back}))
            for p, t in zip(people, tokens, strict=True)
        ]
    )
    assert all(r.status_code == 303 for r in results)
    told = [r.cookies.get("aftersales_flash") or "" for r in results]
    assert sum("true" in t for t in told) == 1, told
    assert _events(api, case["id"]).count("approve") == 1


def test_eight_concurrent_bulk_approvals_apply_once(api):
    case = _case(api, 1, type="refund_only", reason="damaged")
    people = [Console(api, "merchant", merchant_id="m-1") for _ in range(8)]
    tokens = [p.csrf() for p in people]
    results = race(
        [
            (
                lambda p=p, t=t: p.http.post(
                    "/console/after-sales/bulk-approve", data={"csrf": t, "case": f"{case['id']}@1"}
                )
            )
            for p, t in zip(people, tokens, strict=True)
        ]
    )
    assert all(r.status_code == 303 for r in results)
    assert _events(api, case["id"]).count("approve") == 1


def test_concurrent_sign_ins_each_get_their_own_session(api):
    clients = [_anon(api) for _ in range(8)]
    results = race(
        [(lambda c=c: c.post("/console/sign-in", data={"token": api.token("buyer", "b-1")})) for c in clients]
    )
    tokens = {r.cookies.get("aftersales_session") for r in results}
    assert all(r.status_code == 303 for r in results) and len(tokens) == 8


# --- demo ---------------------------------------------------------------------------------------


@pytest.fixture
def demo_api(serve, settings, engine):
    runtime = Runtime.build(dataclasses.replace(settings, simulated_clock=True, demo=True), engine=engine)
    assert demo.load(runtime)
    return serve(runtime)


def test_the_demo_sign_in_takes_only_someone_of_its_list(demo_api):
    http = _anon(demo_api)
    for who in ("buyer:b-nobody", "merchant:", "admin:agent-1", "agent", ":", "buyer:" + "x" * 300):
        r = http.post("/console/sign-in", data={"who": who})
        assert r.status_code in (401, 422) and "aftersales_session" not in r.cookies, who
    # A pick posted from another site is refused (login CSRF: signing the victim in as someone else).
    people = re.findall(r'name="who" value="([^"]+)"', http.get("/console/sign-in").text)
    assert people
    r = http.post("/console/sign-in", data={"who": people[0]}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = http.post("/console/sign-in", data={"who": people[0]})
    assert r.status_code == 303
    csrf = CSRF.search(http.get("/console/after-sales").text)
    assert csrf
    r = http.post("/console/demo/clock", data={"csrf": csrf.group(1), "hours": "²4"})
    assert r.status_code == 303


def test_no_demo_sign_in_or_clock_off_the_demo(api):
    http = _anon(api)
    assert 'name="who"' not in http.get("/console/sign-in").text
    assert http.post("/console/sign-in", data={"who": "buyer:b-1"}).status_code == 401
    person = Console(api, "buyer", "b-1")
    r = person.http.post("/console/demo/clock", data={"csrf": person.csrf("/console/orders"), "hours": "24"})
    assert r.status_code == 404


def test_the_live_refresh_fetch_is_the_same_page_under_the_same_rules(api):
    case = _case(api, 1)
    headers = {"X-Console-Refresh": "1"}
    assert _anon(api).get(f"/console/after-sales/{case['id']}", headers=headers).status_code == 303
    assert (
        Console(api, "merchant", merchant_id="m-2")
        .get(f"/console/after-sales/{case['id']}", headers=headers)
        .status_code
        == 404
    )
    mine = Console(api, "merchant", merchant_id="m-1").get(f"/console/after-sales/{case['id']}", headers=headers)
    assert mine.status_code == 200 and mine.headers["cache-control"] == "no-store"


@pytest.fixture
def phone_api(serve, settings, engine):
    """Evidence up to 4 MiB, as a real deployment allows (the tests' default is 64 KiB)."""
    return serve(Runtime.build(dataclasses.replace(settings, evidence_max_bytes=4 * 1024 * 1024), engine=engine))


def test_a_phone_photo_of_a_few_megabytes_fits_a_console_form_and_a_larger_body_does_not(phone_api):
    """Found: console forms had the 1 MiB cap of a JSON body, so a phone's photo was a 413."""
    api = phone_api
    case = _case(api, 1, type="refund_only", reason="damaged")
    buyer = Console(api, "buyer", "b-1")
    noise = Image.frombytes("RGB", (1000, 1000), random.Random(7).randbytes(3_000_000))
    photo = io.BytesIO()
    noise.save(photo, format="PNG")
    assert photo.tell() > 2 * 1024 * 1024
    path = f"/console/after-sales/{case['id']}/evidence"
    data = {"csrf": buyer.csrf(f"/console/after-sales/{case['id']}"), "body": "破损照片"}
    r = buyer.http.post(path, data=data, files={"photos": ("p.png", photo.getvalue(), "image/png")})
    assert r.status_code == 303 and "true" in r.cookies["aftersales_flash"]
    assert len(_status(api, case["id"])["evidence"]) == 1
    too_big = 4 * 1024 * 1024 + 64 * 1024
    r = buyer.http.post(path, data=data, files={"photos": ("p.png", b"\0" * too_big, "image/png")})
    assert r.status_code == 413


def _dispute(api, n):
    """A request the shop refused and the buyer escalated: its open dispute's id."""
    case = _case(api, n, type="refund_only", reason="damaged")
    assert (
        api.as_("merchant", merchant_id="m-1")
        .post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"})
        .status_code
        == 200
    )
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    return case["id"], r.json()["dispute_id"]


def _burst(people, path, fields):
    tokens = [p.csrf("/console/after-sales") for p in people]
    results = race(
        [(lambda p=p, t=t: p.http.post(path, data={"csrf": t, **fields})) for p, t in zip(people, tokens, strict=True)]
    )
    assert all(r.status_code == 303 for r in results), [r.status_code for r in results]
    return [r.cookies.get("aftersales_flash") or "" for r in results]


def test_eight_concurrent_rulings_and_appeals_apply_once(api):
    api.as_("admin", "admin-1").put("/v1/agents/agent-1", json={"name": "客服一", "capacity": 50})
    _, dispute_id = _dispute(api, 1)
    agent = api.as_("agent", "agent-1")
    version = agent.get(f"/v1/disputes/{dispute_id}").json()["version"]
    told = _burst(
        [Console(api, "agent", "agent-1") for _ in range(8)],
        f"/console/act/dispute/{dispute_id}/rule",
        {"version": str(version), "outcome": "deny", "liable_party": "none", "rationale": "证据不足"},
    )
    assert sum("true" in t for t in told) == 1, told
    events = agent.get(f"/v1/disputes/{dispute_id}/events").json()["items"]
    assert [e["action"] for e in events].count("rule") == 1
    version = agent.get(f"/v1/disputes/{dispute_id}").json()["version"]
    _burst(
        [Console(api, "buyer", "b-1") for _ in range(8)],
        f"/console/disputes/{dispute_id}/appeals",
        {"version": str(version), "grounds": "证据未被采纳"},
    )
    assert len(agent.get(f"/v1/disputes/{dispute_id}/appeals").json()["items"]) == 1


def test_hostile_names_are_inert_on_the_desk_the_replies_and_the_complaints(api):
    api.as_("integration", "marketplace").put("/v1/buyers/b-1", json={"display_name": XSS})
    api.as_("integration", "marketplace").put("/v1/merchants/m-1", json={"name": XSS})
    api.as_("admin", "admin-1").put("/v1/agents/agent-1", json={"name": XSS, "capacity": 50})
    _, dispute_id = _dispute(api, 1)
    merchant = api.as_("merchant", merchant_id="m-1")
    assert merchant.post("/v1/merchants/m-1/reply-templates", json={"title": XSS, "body": XSS}).status_code == 201
    complaint = (
        api.as_("buyer", "b-1")
        .post("/v1/complaints", json={"category": "induced_review", "description": XSS, "merchant_id": "m-1"})
        .json()
    )
    agent = Console(api, "agent", "agent-1")
    agent.http.post(
        f"/console/disputes/{dispute_id}/notes", data={"csrf": agent.csrf("/console/disputes"), "body": XSS}
    )
    pages = [
        (agent, f"/console/disputes/{dispute_id}"),
        (agent, "/console/disputes"),
        (agent, f"/console/complaints/{complaint['id']}"),
        (agent, "/console/complaints?status=any"),
        (agent, "/console/merchants/m-1"),
        (Console(api, "merchant", merchant_id="m-1"), "/console/merchant/replies"),
        (Console(api, "merchant", merchant_id="m-1"), "/console/after-sales?status=all"),
        (Console(api, "buyer", "b-1"), "/console/orders"),
    ]
    for person, path in pages:
        page = person.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert "&lt;script&gt;" in page.text or "&#34;&gt;&lt;img" in page.text, path


def test_an_agent_off_the_roster_or_a_party_is_not_assigned(api):
    api.as_("admin", "admin-1").put("/v1/agents/agent-1", json={"name": "客服一", "capacity": 50})
    _, dispute_id = _dispute(api, 1)
    agent = Console(api, "agent", "agent-1")
    before = db_state(api.runtime)
    for someone in ("agent-nobody", "b-1", "m-1-staff", "x" * 5000):  # (empty: oneself)
        r = agent.http.post(
            f"/console/act/dispute/{dispute_id}/assign",
            data={
                "csrf": agent.csrf("/console/disputes"),
                "agent_id": someone,
                "back": f"/console/disputes/{dispute_id}",
            },
        )
        assert r.status_code == 303 and "false" in r.cookies["aftersales_flash"], someone
    assert db_state(api.runtime) == before
