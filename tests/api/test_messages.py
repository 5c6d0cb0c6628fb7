"""Messages on a case 协商记录 (docs/api.md "Messages"): posted by its buyer, its merchant and
customer service, read in order by everyone who sees the case, on the case's timeline, carried
into its dispute and its case file; evidence they cite opens to the other party."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from aftersales.domain import messages
from aftersales.services import audit
from api_builders import assert_problem, db_state, feed_order, file_case, race


def _case(api, order_id="o-1001", **over):
    feed_order(api, order_id)
    return file_case(api, order_id, **over)["id"]


def _say(client, case_id, body=None, **more):
    payload = ({"body": body} if body is not None else {}) | more
    return client.post(f"/v1/after-sales/{case_id}/messages", json=payload)


def _said(client, case_id, body=None, **more):
    r = _say(client, case_id, body, **more)
    assert r.status_code == 201, r.text
    return r.json()


def _upload(client, text):
    r = client.post(
        "/v1/evidence", files={"file": ("chat.txt", io.BytesIO(text.encode()))}, data={"kind": "chat_record"}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_buyer_the_merchant_and_customer_service_post_and_everyone_who_sees_the_case_reads_them_in_order(api):
    case_id = _case(api)
    buyer, merchant, agent = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1"), api.as_("agent")
    first = _said(buyer, case_id, "  茶叶受潮了，能退吗？ ")
    _said(merchant, case_id, "请提供照片")
    _said(agent, case_id, "客服已介入协调")
    assert first["body"] == "茶叶受潮了，能退吗？" and first["after_sale_id"] == case_id
    assert (first["author_role"], first["author_id"], first["evidence"]) == ("buyer", "b-1", [])
    expected = [("buyer", "b-1"), ("merchant", "m-1-staff"), ("agent", "agent-1")]
    for reader in (buyer, merchant, agent, api.as_("admin"), api.as_("integration", "marketplace")):
        r = reader.get(f"/v1/after-sales/{case_id}/messages")
        assert r.status_code == 200, r.text
        assert [(m["author_role"], m["author_id"]) for m in r.json()["items"]] == expected
        assert r.json()["next_cursor"] is None
    page = buyer.get(f"/v1/after-sales/{case_id}/messages", params={"limit": 2}).json()
    rest = buyer.get(f"/v1/after-sales/{case_id}/messages", params={"cursor": page["next_cursor"]}).json()
    assert [m["body"] for m in page["items"] + rest["items"]] == [
        "茶叶受潮了，能退吗？",
        "请提供照片",
        "客服已介入协调",
    ]
    assert rest["next_cursor"] is None


def test_admins_and_the_order_feed_may_not_post_and_other_tenants_see_no_case(api, runtime):
    case_id = _case(api)
    before = db_state(runtime)
    for client in (api.as_("admin"), api.as_("integration", "marketplace")):
        assert_problem(_say(client, case_id, "我来说两句"), 403, "forbidden")
    for client in (api.as_("buyer", "b-2"), api.as_("merchant", merchant_id="m-2")):
        assert_problem(_say(client, case_id, "我来说两句"), 404, "not_found")
        assert_problem(client.get(f"/v1/after-sales/{case_id}/messages"), 404, "not_found")
    assert_problem(_say(api.as_("agent"), "as_missing", "你好"), 404, "not_found")
    assert_problem(api.anonymous.get(f"/v1/after-sales/{case_id}/messages"), 401, "unauthenticated")
    assert db_state(runtime) == before


def test_evidence_a_message_cites_opens_to_the_other_party_and_an_uncited_file_stays_private(api, runtime):
    case_id = _case(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    cited, kept = _upload(buyer, "买家: 受潮照片"), _upload(buyer, "买家: 私人记录")
    assert_problem(merchant.get(f"/v1/evidence/{cited}"), 404, "not_found")
    message = _said(buyer, case_id, "照片见附件", evidence=[cited, cited])
    assert message["evidence"] == [cited]
    assert merchant.get(f"/v1/evidence/{cited}/content").status_code == 200
    assert_problem(merchant.get(f"/v1/evidence/{kept}"), 404, "not_found")
    assert cited in buyer.get(f"/v1/after-sales/{case_id}").json()["evidence"]
    with runtime.uow() as uow:
        assert audit.verify(uow, "after_sale", case_id) == []
    # The merchant cannot cite the buyer's private file, nor an unknown one: nothing is written.
    before = db_state(runtime)
    for foreign in (kept, "ev_missing"):
        body = assert_problem(_say(merchant, case_id, "看这个", evidence=[foreign]), 422, "validation_error")
        assert body["errors"][0]["loc"] == ["evidence"]
    assert db_state(runtime) == before


def test_each_message_is_an_event_of_the_case_and_the_audit_replays_it(api, runtime):
    case_id = _case(api)
    version = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}").json()["version"]
    message = _said(api.as_("merchant", merchant_id="m-1"), case_id, "已收到，正在核实")
    events = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}/events").json()["items"]
    assert [e["action"] for e in events] == ["file", "message_posted"]
    posted = events[-1]
    assert posted["actor"] == {"role": "merchant", "id": "m-1-staff"}
    assert posted["data"] == {"message_id": message["id"], "body": "已收到，正在核实", "evidence": []}
    assert posted["before"]["status"] == posted["after"]["status"] == "pending_merchant"
    case = api.as_("buyer", "b-1").get(f"/v1/after-sales/{case_id}")
    assert case.json()["version"] == version + 1 and case.headers["etag"] == f'"{version + 1}"'
    with runtime.uow() as uow:
        assert audit.verify(uow, "after_sale", case_id) == []


def test_a_closed_case_takes_no_messages_unless_a_dispute_about_it_is_live(api):
    case_id = _case(api)
    buyer = api.as_("buyer", "b-1")
    assert buyer.post(f"/v1/after-sales/{case_id}/withdraw").status_code == 200
    body = assert_problem(_say(buyer, case_id, "还在吗"), 409, "case_closed")
    assert body["current_status"] == "closed"
    # 仲裁: the closed request's arbitration is live, and the negotiation goes on before the agent.
    r = buyer.post("/v1/arbitrations", json={"after_sale_id": case_id, "statement": "申请仲裁"})
    assert r.status_code == 201, r.text
    _said(buyer, case_id, "补充说明：商家未回应")
    _said(api.as_("merchant", merchant_id="m-1"), case_id, "我方已回应")
    agent = api.as_("agent", "agent-1")
    assert agent.post(f"/v1/disputes/{r.json()['id']}/decline").status_code == 200
    assert_problem(_say(buyer, case_id, "为什么驳回"), 409, "case_closed")
    assert len(buyer.get(f"/v1/after-sales/{case_id}/messages").json()["items"]) == 2


def _escalated(api):
    case_id = _case(api, type="refund_only", reason="damaged")
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    _said(buyer, case_id, "收到时包装破损")
    _said(merchant, case_id, "发货时完好")
    assert merchant.post(f"/v1/after-sales/{case_id}/reject", json={"reason": "no_quality_issue"}).status_code == 200
    r = buyer.post(f"/v1/after-sales/{case_id}/escalate", json={"statement": "请介入"})
    assert r.status_code == 200, r.text
    _said(buyer, case_id, "介入后补充：快递员可作证")
    return case_id, r.json()["dispute_id"]


def test_the_dispute_read_carries_every_message_of_its_case_for_the_parties_and_the_agent(api):
    case_id, dispute_id = _escalated(api)
    bodies = ["收到时包装破损", "发货时完好", "介入后补充：快递员可作证"]
    for reader in (api.as_("agent"), api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")):
        r = reader.get(f"/v1/disputes/{dispute_id}")
        assert r.status_code == 200, r.text
        assert [m["body"] for m in r.json()["messages"]] == bodies
        assert {m["after_sale_id"] for m in r.json()["messages"]} == {case_id}


def test_the_case_file_holds_the_messages_in_its_json_and_its_pdf(api):
    case_id, _ = _escalated(api)
    agent = api.as_("agent")
    f = agent.get(f"/v1/after-sales/{case_id}/case-file").json()
    assert [(m["author_role"], m["body"]) for m in f["messages"]] == [
        ("buyer", "收到时包装破损"),
        ("merchant", "发货时完好"),
        ("buyer", "介入后补充：快递员可作证"),
    ]
    assert [e["action"] for e in f["timeline"]].count("message_posted") == 3
    pdf = agent.get(f"/v1/after-sales/{case_id}/case-file.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    section = text[text.index("协商记录") :]
    found = [section.index(m["body"]) for m in f["messages"]]
    assert found == sorted(found), "the PDF lists the messages in the order they were posted"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"body": ""},
        {"body": "   "},
        {"body": "字" * 2001},
        {"body": "a\x00b"},
        {"body": "hi", "evidence": ["ev"] * 21},
        {"body": "hi", "author_role": "agent"},
        {"body": 7},
    ],
)
def test_a_message_without_text_or_with_too_much_is_refused_and_writes_nothing(api, runtime, payload):
    case_id = _case(api)
    before = db_state(runtime)
    assert_problem(api.as_("buyer", "b-1").post(f"/v1/after-sales/{case_id}/messages", json=payload), 422)
    assert db_state(runtime) == before


def test_a_message_of_exactly_the_longest_length_is_taken(api):
    case_id = _case(api)
    assert len(_said(api.as_("buyer", "b-1"), case_id, "字" * 2000)["body"]) == 2000


def test_a_burst_of_messages_on_one_case_is_all_taken_in_order_and_replays(api, runtime):
    case_id = _case(api)
    parties = [api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")]
    calls = [
        (lambda i=i: parties[i % 2].post(f"/v1/after-sales/{case_id}/messages", json={"body": f"第{i}条"}))
        for i in range(16)
    ]
    responses = race(calls)
    assert sorted(r.status_code for r in responses) == [201] * 16, [r.text for r in responses if r.status_code != 201]
    listed = parties[0].get(f"/v1/after-sales/{case_id}/messages").json()["items"]
    assert sorted(m["body"] for m in listed) == sorted(f"第{i}条" for i in range(16))
    assert [m["id"] for m in listed] == sorted(m["id"] for m in listed)
    with runtime.uow() as uow:
        assert audit.verify(uow, "after_sale", case_id) == []


def test_a_retried_post_with_its_idempotency_key_posts_once(api):
    case_id = _case(api)
    buyer = api.as_("buyer", "b-1")
    headers = {"Idempotency-Key": "msg-1"}
    first = buyer.post(f"/v1/after-sales/{case_id}/messages", json={"body": "你好"}, headers=headers)
    again = buyer.post(f"/v1/after-sales/{case_id}/messages", json={"body": "你好"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len(buyer.get(f"/v1/after-sales/{case_id}/messages").json()["items"]) == 1


def test_a_case_takes_messages_up_to_its_cap(api, monkeypatch):
    monkeypatch.setattr(messages, "MESSAGES_PER_CASE", 3)  # (500 in production: same rule, fewer posts)
    case_id = _case(api)
    buyer = api.as_("buyer", "b-1")
    for i in range(3):
        _said(buyer, case_id, f"第{i}条")
    assert_problem(_say(api.as_("agent"), case_id, "第四条"), 409, "too_many_messages")
    assert len(buyer.get(f"/v1/after-sales/{case_id}/messages").json()["items"]) == 3
