"""Idempotency keys belong to a caller: role, sub and, for merchants, the shop. Staff of two
shops may carry the same `sub`; one shop's key must never replay the other's stored response."""

from __future__ import annotations

import sqlalchemy as sa

from aftersales.services import idempotency
from aftersales.services.context import Actor
from aftersales.store import tables as t
from api_builders import ADDRESS, assert_problem, feed_order, file_case

KEY = {"Idempotency-Key": "approve-once"}
APPROVE = {"return_address": ADDRESS}


def test_two_shops_staff_with_one_sub_and_one_key_each_get_their_own_effect(api, runtime):
    feed_order(api, "o-a", merchant="m-a", buyer="b-1")
    feed_order(api, "o-b", merchant="m-b", buyer="b-2")
    case_a = file_case(api, "o-a", buyer="b-1")
    case_b = file_case(api, "o-b", buyer="b-2")
    shop_a = api.as_("merchant", "staff", merchant_id="m-a")
    shop_b = api.as_("merchant", "staff", merchant_id="m-b")

    first = shop_a.post(f"/v1/after-sales/{case_a['id']}/approve", json=APPROVE, headers=KEY)
    assert first.status_code == 200, first.text
    # Shop B sends shop A's exact request with the same key: evaluated as B's own (B may not see
    # A's case), never answered with A's stored case.
    foreign = shop_b.post(f"/v1/after-sales/{case_a['id']}/approve", json=APPROVE, headers=KEY)
    assert_problem(foreign, 404, "not_found")
    assert "idempotent-replayed" not in foreign.headers and case_a["id"] not in foreign.text
    # The same key on B's own case is B's first use of it: B's case moves, A's replay is A's.
    own = shop_b.post(f"/v1/after-sales/{case_b['id']}/approve", json=APPROVE, headers=KEY)
    assert own.status_code == 200, own.text
    assert "idempotent-replayed" not in own.headers
    assert own.json()["id"] == case_b["id"] and own.json()["merchant_id"] == "m-b"
    again = shop_a.post(f"/v1/after-sales/{case_a['id']}/approve", json=APPROVE, headers=KEY)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()

    agent = api.as_("agent")
    for case in (case_a, case_b):
        events = agent.get(f"/v1/after-sales/{case['id']}/events").json()["items"]
        assert [e["action"] for e in events] == ["file", "approve"]
        assert agent.get(f"/v1/after-sales/{case['id']}").json()["status"] == "awaiting_return"
    # One key stored for each shop; B's refused request stored nothing.
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.idempotency_keys)).scalar_one() == 2


def test_keys_of_callers_without_a_shop_keep_their_stored_form():
    """Rows stored before shops were part of the scope still replay for buyers and staff."""
    assert idempotency.principal(Actor("buyer", "b-1")) == "buyer:b-1"
    assert idempotency.principal(Actor("integration", "marketplace")) == "integration:marketplace"


def test_no_two_shop_and_sub_pairs_share_a_principal_and_long_ids_still_fit():
    pairs = [("m:a", "b"), ("m", "a:b"), ("m", "a"), ("m-a", "staff"), ("m-b", "staff")]
    names = {idempotency.principal(Actor("merchant", sub, merchant_id=shop)) for shop, sub in pairs}
    assert len(names) == len(pairs)
    assert idempotency.principal(Actor("merchant", "staff", merchant_id="m-a")) != "merchant:staff"
    long = [idempotency.principal(Actor("merchant", "s" * 200, merchant_id=shop)) for shop in ("a", "b")]
    assert long[0] != long[1] and all(len(p) <= idempotency.PRINCIPAL_MAX for p in long)
