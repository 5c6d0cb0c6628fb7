"""The platform agent's desk in the console over real HTTP: the queue by ruling deadline with its
filters and assignment, the workspace's notes (never on the parties' pages), rulings, evidence
requests and appeals through the forms, complaints, a shop's profile, the policy table, and the
desk refused to buyers and merchants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from aftersales import demo
from aftersales.policies import presets
from aftersales.services import policy_table
from aftersales.web.i18n import Formats, timezone
from aftersales.web.pages.agent import duration
from api_builders import feed_order, file_case
from console_client import Console
from media_samples import PDF, PNG

ROW = re.compile(r'data-dispute="([^"]+)"')


def _roster(api):
    admin = api.as_("admin", "admin-1")
    for agent_id, name in (("agent-1", "客服小周"), ("agent-2", "仲裁员老陈")):
        assert admin.put(f"/v1/agents/{agent_id}", json={"name": name, "capacity": 20}).status_code == 200


def _escalated(api, order_id="o-1001"):
    """A request the merchant refused and the buyer escalated: (case id, dispute id)."""
    feed_order(api, order_id)
    case = file_case(api, order_id)
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}
    )
    assert r.status_code == 200, r.text
    r = api.as_("buyer", "b-1").post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "茶叶受潮, 请介入"})
    assert r.status_code == 200, r.text
    return case["id"], r.json()["dispute_id"]


def _dispute(api, dispute_id):
    return api.as_("agent").get(f"/v1/disputes/{dispute_id}").json()


def _post(person, path, back, **fields):
    return person.http.post(path, data={"csrf": person.csrf("/console/disputes"), "back": back, **fields})


def test_the_queue_is_the_agent_s_home_by_ruling_deadline_with_its_filters(api):
    _roster(api)
    _, first = _escalated(api, "o-1")
    api.clock.advance(timedelta(hours=1))
    _, second = _escalated(api, "o-2")
    agent = Console(api, "agent", "agent-1")
    assert agent.get("/console/").headers["location"] == "/console/disputes"
    assert ROW.findall(agent.get("/console/disputes").text) == [first, second]

    taken = _post(agent, f"/console/act/dispute/{first}/assign", "/console/disputes", agent_id="agent-1", version="1")
    assert taken.status_code == 303 and _dispute(api, first)["assignee"] == "agent-1"
    assert ROW.findall(agent.get("/console/disputes?assigned=mine").text) == [first]
    assert ROW.findall(agent.get("/console/disputes?assigned=unassigned").text) == [second]
    assert ROW.findall(agent.get("/console/disputes?kind=arbitration").text) == []
    assert ROW.findall(agent.get("/console/disputes?status=final").text) == []

    api.clock.advance(timedelta(hours=71, minutes=30))  # the first is past its 72 h, the second not yet
    agent = Console(api, "agent", "agent-1")  # a new session: the first one lasted 12 hours
    assert ROW.findall(agent.get("/console/disputes?sla=breached").text) == [first]
    assert ROW.findall(agent.get("/console/disputes?sla=due_24h").text) == [first, second]
    # Unknown filter values are ignored, not a 500.
    assert ROW.findall(agent.get("/console/disputes?status=x&kind=y&assigned=z&sla=w").text) == [first, second]
    assert agent.get("/console/disputes?cursor=not-a-cursor").status_code == 400


def test_an_agent_assigns_a_dispute_to_another_agent_and_an_unknown_one_is_refused(api):
    _roster(api)
    _, dispute_id = _escalated(api)
    agent = Console(api, "agent", "agent-1")
    page = agent.get(f"/console/disputes/{dispute_id}").text
    assert 'name="agent_id"' in page and "仲裁员老陈" in page  # the roster as the assign form's choices
    back = f"/console/disputes/{dispute_id}"
    bad = _post(agent, f"/console/act/dispute/{dispute_id}/assign", back, agent_id="agent-9", version="1")
    assert bad.status_code == 303 and "未完成" in agent.get(back).text
    assert _dispute(api, dispute_id)["assignee"] is None
    _post(agent, f"/console/act/dispute/{dispute_id}/assign", back, agent_id="agent-2", version="1")
    assert _dispute(api, dispute_id)["assignee"] == "agent-2"


def test_private_notes_stay_on_the_desk_and_the_desk_is_refused_to_the_parties(api):
    _roster(api)
    case_id, dispute_id = _escalated(api)
    agent = Console(api, "agent", "agent-1")
    note = "买家此前有三次类似投诉, 留意"
    refused = agent.http.post(f"/console/disputes/{dispute_id}/notes", data={"body": note})
    assert refused.status_code == 403
    for bad in ("   ", "长" * 4001):
        told = _post(agent, f"/console/disputes/{dispute_id}/notes", "", body=bad)
        assert told.status_code == 303 and "未完成" in agent.get(f"/console/disputes/{dispute_id}").text
    saved = _post(agent, f"/console/disputes/{dispute_id}/notes", "", body=note)
    assert saved.status_code == 303
    assert note in agent.get(f"/console/disputes/{dispute_id}").text
    assert [n["body"] for n in api.as_("agent").get(f"/v1/disputes/{dispute_id}/notes").json()["items"]] == [note]
    # The agent's case page links to the workspace; the parties' case pages show neither.
    assert f'href="/console/disputes/{dispute_id}"' in agent.get(f"/console/after-sales/{case_id}").text
    for person in (Console(api, "buyer", "b-1"), Console(api, "merchant", merchant_id="m-1")):
        case_page = person.get(f"/console/after-sales/{case_id}")
        assert case_page.status_code == 200 and note not in case_page.text
        assert f"/console/disputes/{dispute_id}" not in case_page.text
        for path in (
            "/console/disputes",
            f"/console/disputes/{dispute_id}",
            "/console/appeals",
            "/console/complaints",
            "/console/merchants/m-1",
            "/console/policy",
        ):
            assert person.get(path).status_code == 403, path
        r = person.http.post(f"/console/disputes/{dispute_id}/notes", data={"csrf": person.csrf(), "body": "x"})
        assert r.status_code == 403
    assert len(api.as_("agent").get(f"/v1/disputes/{dispute_id}/notes").json()["items"]) == 1


def test_the_workspace_rules_asks_for_evidence_and_refuses_a_bad_amount(api):
    _roster(api)
    case_id, dispute_id = _escalated(api)
    agent = Console(api, "agent", "agent-1")
    back = f"/console/disputes/{dispute_id}"
    page = agent.get(back).text
    assert "茶叶受潮, 请介入" in page  # the buyer's statement
    timeline = page.split('id="timeline-h"')[1]
    # The case's events and the dispute's in one line, each named in words.
    assert [w in timeline for w in ("提交售后申请", "拒绝", "申请平台介入", "纠纷单已创建")] == [True] * 4
    assert 'action="/console/act/dispute/' + dispute_id + '/rule"' in page
    assert 'action="/console/act/dispute/' + dispute_id + '/request_evidence"' in page
    asked = _post(agent, f"/console/act/dispute/{dispute_id}/request_evidence", back, party="merchant", version="1")
    assert asked.status_code == 303
    events = [e["action"] for e in api.as_("agent").get(f"/v1/disputes/{dispute_id}/events").json()["items"]]
    assert "request_evidence" in events
    version = str(_dispute(api, dispute_id)["version"])
    ruling = {"outcome": "refund", "liable_party": "merchant", "rationale": "质检报告证明受潮", "version": version}
    bad = _post(agent, f"/console/act/dispute/{dispute_id}/rule", back, **ruling, amount="1.234")
    assert bad.status_code == 303 and "未完成" in agent.get(back).text
    assert _dispute(api, dispute_id)["ruling"] is None
    ruled = _post(agent, f"/console/act/dispute/{dispute_id}/rule", back, **ruling, amount="198.00")
    assert ruled.status_code == 303
    dispute = _dispute(api, dispute_id)
    assert dispute["status"] == "ruled"
    assert (dispute["ruling"]["outcome"], dispute["ruling"]["liable_party"]) == ("refund", "merchant")
    assert dispute["ruling"]["amount"] == 19800
    assert api.as_("agent").get(f"/v1/after-sales/{case_id}").json()["status"] == "refunded"


def test_an_appeal_is_decided_in_the_console_by_another_agent_than_the_ruler(api):
    _roster(api)
    _, dispute_id = _escalated(api)
    rule = {"outcome": "refund", "liable_party": "merchant", "rationale": "质检报告证明受潮"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=rule).status_code == 200
    r = api.as_("merchant", merchant_id="m-1").post(
        f"/v1/disputes/{dispute_id}/appeals", json={"grounds": "买家保存不当"}
    )
    appeal_id = r.json()["id"]
    ruler, other = Console(api, "agent", "agent-1"), Console(api, "agent", "agent-2")
    assert appeal_id in ruler.get("/console/appeals").text
    decide_url = f"/console/appeals/{appeal_id}/decide"
    assert decide_url not in ruler.get(f"/console/disputes/{dispute_id}").text
    version = str(_dispute(api, dispute_id)["version"])
    fields = {"decision": "uphold", "rationale": "证据充分, 维持原判", "version": version}
    _post(ruler, decide_url, "", **fields)  # not offered to the ruler, and refused if posted anyway
    assert api.as_("agent").get(f"/v1/appeals/{appeal_id}").json()["status"] == "pending"
    assert decide_url in other.get(f"/console/disputes/{dispute_id}").text
    assert _post(other, decide_url, "", **fields).status_code == 303
    assert api.as_("agent").get(f"/v1/appeals/{appeal_id}").json()["status"] == "upheld"
    assert appeal_id not in other.get("/console/appeals").text
    assert other.http.post("/console/appeals/ap-nope/decide", data={"csrf": other.csrf()}).status_code == 404


def test_the_complaints_queue_and_a_complaint_decided_through_its_form(api):
    merchant = api.as_("merchant", merchant_id="m-1")
    r = merchant.post("/v1/complaints", json={"category": "buyer_abuse", "description": "恶意退款", "buyer_id": "b-1"})
    assert r.status_code == 201, r.text
    complaint = r.json()
    agent = Console(api, "agent", "agent-1")
    assert f'data-complaint="{complaint["id"]}"' in agent.get("/console/complaints").text
    page = agent.get(f"/console/complaints/{complaint['id']}").text
    assert "恶意退款" in page and f"/console/act/complaint/{complaint['id']}/decide" in page
    done = agent.act(
        "complaint", complaint["id"], "decide", version=complaint["version"], decision="dismissed", rationale="证据不足"
    )
    assert done.status_code == 303
    assert api.as_("agent").get(f"/v1/complaints/{complaint['id']}").json()["status"] == "decided"
    assert f'data-complaint="{complaint["id"]}"' not in agent.get("/console/complaints").text
    assert f'data-complaint="{complaint["id"]}"' in agent.get("/console/complaints?status=decided").text


def test_a_merchant_s_profile_shows_its_history_violations_and_standing(api):
    _roster(api)
    _, dispute_id = _escalated(api)
    rule = {"outcome": "refund", "liable_party": "merchant", "rationale": "质检报告证明受潮"}
    assert api.as_("agent", "agent-1").post(f"/v1/disputes/{dispute_id}/rule", json=rule).status_code == 200
    points = api.as_("agent").get("/v1/merchants/m-1/standing").json()["active_points"]
    page = Console(api, "agent", "agent-1").get("/console/merchants/m-1?lang=en")
    assert page.status_code == 200
    assert f'data-points="{points}"' in page.text and points > 0
    assert 'data-lost="1"' in page.text and f"/console/disputes/{dispute_id}" in page.text
    assert f"platform ruling {dispute_id}" in page.text  # the violation's cause
    assert Console(api, "agent", "agent-1").get("/console/merchants/m-nobody").status_code == 404


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_policy_table_is_the_policy_data(api, lang):
    page = Console(api, "agent", "agent-1").get(f"/console/policy?lang={lang}&key=douyin@1").text
    policy = presets()["douyin@1"]
    formats = Formats(lang, timezone(None))
    rows = dict(re.findall(r'<tr data-timer="([^"]+)">(.*?)</tr>', page, re.S))
    timers = policy_table.timers(policy)
    assert list(rows) == [t.name for t in timers]
    for timer in timers:
        shown = re.search(r'class="duration">([^<]*)<', rows[timer.name]).group(1)
        assert shown == duration(formats, timer.value), timer.name
        for lapse in timer.lapses:
            if lapse.label:
                assert getattr(lapse.label, lang) in rows[timer.name], timer.name
    words = {"zh": ("48小时", "7天", "7个工作日"), "en": ("48 hours", "7 days", "7 working days")}[lang]
    assert [
        duration(formats, policy.timers[n]) for n in ("merchant_response", "buyer_ship_return", "complaint_review")
    ] == list(words)


def test_both_sides_statements_and_evidence_side_by_side_images_inline_files_as_downloads(api):
    feed_order(api)
    case = file_case(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    photo = buyer.post("/v1/evidence", files={"file": ("wet.png", PNG, "image/png")}, data={"kind": "product_media"})
    assert photo.status_code == 201, photo.text
    assert merchant.post(f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = buyer.post(
        f"/v1/after-sales/{case['id']}/escalate", json={"statement": "见照片", "evidence": [photo.json()["id"]]}
    )
    dispute_id = r.json()["dispute_id"]
    report = merchant.post("/v1/evidence", files={"file": ("qc.pdf", PDF, "application/pdf")}, data={"kind": "other"})
    assert report.status_code == 201, report.text
    said = merchant.post(
        f"/v1/disputes/{dispute_id}/evidence", json={"statement": "出厂质检合格", "evidence": [report.json()["id"]]}
    )
    assert said.status_code == 200, said.text
    agent = Console(api, "agent", "agent-1")
    page = agent.get(f"/console/disputes/{dispute_id}").text
    buyer_side = page.split('id="side-buyer"')[1].split('id="side-merchant"')[0]
    merchant_side = page.split('id="side-merchant"')[1].split("</section>")[0]
    thumb = f"/console/evidence/{photo.json()['id']}?variant=thumbnail&amp;inline=true"
    assert "见照片" in buyer_side and thumb in buyer_side
    assert (
        "出厂质检合格" in merchant_side and f'href="/console/evidence/{report.json()["id"]}" download' in merchant_side
    )
    assert "<img" not in merchant_side
    served = agent.get(thumb.replace("&amp;", "&"))
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
    assert served.headers["content-disposition"].startswith("inline")


def test_every_desk_page_renders_on_the_demo_marketplace_in_both_languages(runtime, serve):
    assert demo.load(runtime) is True
    api = serve(runtime)
    agent = Console(api, "agent", "agent-2")
    queue = agent.get("/console/disputes?status=any").text
    disputes = ROW.findall(queue)
    complaints = re.findall(r'data-complaint="([^"]+)"', agent.get("/console/complaints?status=any").text)
    assert disputes and complaints
    paths = ["/console/disputes", "/console/appeals", "/console/complaints", "/console/policy"]
    paths += [f"/console/disputes/{d}" for d in disputes] + [f"/console/complaints/{c}" for c in complaints]
    paths += sorted({f"/console/merchants/{m}" for m in re.findall(r'href="/console/merchants/([^"]+)"', queue)})
    for lang in ("zh", "en"):
        for path in paths:
            r = agent.get(path, params={"lang": lang})
            assert r.status_code == 200, (path, lang, r.text[:300])
