"""Merchants' quick replies 话术 (docs/api.md "Messages"): a shop keeps, lists and deletes its own,
up to a cap, and posts from them on its cases; nobody else sees or uses them."""

from __future__ import annotations

import pytest

from aftersales.domain.messages import TEMPLATES_PER_MERCHANT
from api_builders import assert_problem, db_state, feed_order, file_case, race

PATH = "/v1/merchants/{}/reply-templates"


def _keep(client, shop="m-1", title="催发货", body="亲，已为您加急处理"):
    return client.post(PATH.format(shop), json={"title": title, "body": body})


def _kept(client, shop="m-1", **over):
    r = _keep(client, shop, **over)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_shop_keeps_lists_and_deletes_its_own_templates(api):
    merchant = api.as_("merchant", "m-1-staff-2", merchant_id="m-1")
    first = _kept(merchant, title=" 退货地址 ", body="请寄回杭州市西湖区龙井路 18 号")
    second = _kept(api.as_("merchant", merchant_id="m-1"))
    assert (first["title"], first["merchant_id"], first["created_by"]) == ("退货地址", "m-1", "m-1-staff-2")
    listed = merchant.get(PATH.format("m-1")).json()["items"]
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    r = merchant.delete(f"{PATH.format('m-1')}/{first['id']}")
    assert r.status_code == 204 and r.content == b""
    assert [t["id"] for t in merchant.get(PATH.format("m-1")).json()["items"]] == [second["id"]]
    assert_problem(merchant.delete(f"{PATH.format('m-1')}/{first['id']}"), 404, "not_found")


def test_another_shop_finds_none_and_other_roles_are_refused(api, runtime):
    own = _kept(api.as_("merchant", merchant_id="m-1"))
    before = db_state(runtime)
    other = api.as_("merchant", merchant_id="m-2")
    assert_problem(other.get(PATH.format("m-1")), 404, "not_found")
    assert_problem(_keep(other, "m-1"), 404, "not_found")
    assert_problem(other.delete(f"{PATH.format('m-1')}/{own['id']}"), 404, "not_found")
    # Its own shop's URL does not reach another shop's template either.
    assert_problem(other.delete(f"{PATH.format('m-2')}/{own['id']}"), 404, "not_found")
    for role in ("buyer", "agent", "admin", "integration"):
        client = api.as_(role)
        assert_problem(client.get(PATH.format("m-1")), 403, "forbidden")
        assert_problem(_keep(client, "m-1"), 403, "forbidden")
        assert_problem(client.delete(f"{PATH.format('m-1')}/{own['id']}"), 403, "forbidden")
    assert_problem(api.anonymous.get(PATH.format("m-1")), 401, "unauthenticated")
    assert db_state(runtime) == before
    assert other.get(PATH.format("m-2")).json()["items"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "", "body": "x"},
        {"title": "x", "body": " "},
        {"title": "字" * 101, "body": "x"},
        {"title": "x", "body": "字" * 2001},
        {"title": "x"},
        {"title": "x", "body": "x", "slot": 3},
    ],
)
def test_a_template_without_text_or_with_too_much_is_refused(api, runtime, payload):
    before = db_state(runtime)
    assert_problem(api.as_("merchant", merchant_id="m-1").post(PATH.format("m-1"), json=payload), 422)
    assert db_state(runtime) == before


def test_a_shop_keeps_at_most_the_cap_and_a_deleted_one_frees_its_place(api):
    merchant = api.as_("merchant", merchant_id="m-1")
    kept = [_kept(merchant, title=f"话术{i}") for i in range(TEMPLATES_PER_MERCHANT)]
    assert_problem(_keep(merchant, title="再来一条"), 409, "too_many_templates")
    _kept(api.as_("merchant", merchant_id="m-2"), "m-2")  # the cap is per shop
    assert merchant.delete(f"{PATH.format('m-1')}/{kept[7]['id']}").status_code == 204
    _kept(merchant, title="再来一条")
    assert_problem(_keep(merchant, title="又一条"), 409, "too_many_templates")
    assert len(merchant.get(PATH.format("m-1")).json()["items"]) == TEMPLATES_PER_MERCHANT


def test_creations_racing_for_the_last_place_never_pass_the_cap(api):
    merchant = api.as_("merchant", merchant_id="m-1")
    for i in range(TEMPLATES_PER_MERCHANT - 1):
        _kept(merchant, title=f"话术{i}")
    staff = [api.as_("merchant", f"m-1-staff-{i}", merchant_id="m-1") for i in range(6)]
    responses = race([lambda c=c, i=i: _keep(c, title=f"抢{i}") for i, c in enumerate(staff)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 5, [r.text for r in responses]
    assert len(merchant.get(PATH.format("m-1")).json()["items"]) == TEMPLATES_PER_MERCHANT


def _case(api):
    feed_order(api)
    return file_case(api)["id"]


def test_a_merchant_posts_from_its_template_with_its_text_or_its_own(api):
    case_id = _case(api)
    merchant = api.as_("merchant", merchant_id="m-1")
    template = _kept(merchant, body="亲，已为您加急处理")
    path = f"/v1/after-sales/{case_id}/messages"
    plain = merchant.post(path, json={"template_id": template["id"]})
    assert plain.status_code == 201, plain.text
    assert (plain.json()["body"], plain.json()["template_id"]) == ("亲，已为您加急处理", template["id"])
    edited = merchant.post(path, json={"template_id": template["id"], "body": "亲，明天发出"})
    assert edited.json()["body"] == "亲，明天发出"
    # Deleting the template keeps what was posted from it.
    assert merchant.delete(f"{PATH.format('m-1')}/{template['id']}").status_code == 204
    bodies = [m["body"] for m in merchant.get(path).json()["items"]]
    assert bodies == ["亲，已为您加急处理", "亲，明天发出"]
    events = merchant.get(f"/v1/after-sales/{case_id}/events").json()["items"]
    assert events[-2]["data"]["template_id"] == template["id"]


def test_nobody_posts_from_a_template_that_is_not_their_own(api, runtime):
    case_id = _case(api)
    template = _kept(api.as_("merchant", merchant_id="m-1"))
    foreign = _kept(api.as_("merchant", merchant_id="m-2"), "m-2")
    path = f"/v1/after-sales/{case_id}/messages"
    before = db_state(runtime)
    attempts = [
        (api.as_("merchant", merchant_id="m-1"), foreign["id"]),
        (api.as_("merchant", merchant_id="m-1"), "rt_missing"),
        (api.as_("buyer", "b-1"), template["id"]),
        (api.as_("agent"), template["id"]),
    ]
    for client, template_id in attempts:
        body = assert_problem(client.post(path, json={"template_id": template_id}), 422, "validation_error")
        assert body["errors"][0]["loc"] == ["template_id"]
    assert db_state(runtime) == before
