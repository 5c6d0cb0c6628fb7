"""Parties in the service layer: the merchant's book serves automatic approvals, profiles are
checked whoever calls (the CLI and the demo do not pass the API's models), and a listing page
looks its parties' names up in one query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aftersales.domain.errors import ValidationFailed
from aftersales.services import parties, reads
from aftersales.services.context import Actor
from aftersales.store import tables as t
from builders import AGENT, MARKETPLACE, World

BOOK = [
    {"id": "hz", "name": "陈师傅", "phone": "0571-1", "address": "杭州市龙井路 18 号"},
    {"id": "sh", "name": "周店长", "phone": "021-2", "address": "上海市南京西路 1266 号"},
]


def _merchant(runtime, merchant_id="m-1", book=BOOK, name="西湖茶庄"):
    with runtime.uow() as uow:
        parties.upsert_merchant(uow, runtime.env, MARKETPLACE, merchant_id, {"name": name, "return_addresses": book})
        uow.commit()


def test_an_unanswered_return_is_approved_to_the_merchants_default_address(runtime, clock):
    w = World(runtime, clock)
    _merchant(runtime)
    booked = w.case()
    bookless = w.case(w.order(merchant="m-2"))
    w.advance(hours=47)
    assert w.get_case(booked.id).status == "pending_merchant"
    w.advance(hours=1, seconds=1)  # (fired set-based, as the worker does)
    approved, untold = w.get_case(booked.id), w.get_case(bookless.id)
    assert approved.status == untold.status == "awaiting_return"
    assert (approved.return_address, approved.return_address_id) == ("陈师傅 0571-1 杭州市龙井路 18 号", "hz")
    assert (untold.return_address, untold.return_address_id) == (None, None)
    fired = w.events(booked.id)[-1]
    assert fired.action == "auto_approve" and fired.data == {
        "return_address": approved.return_address,
        "return_address_id": "hz",
    }


def test_a_refund_only_approval_keeps_no_book_address(runtime, clock):
    w = World(runtime, clock)
    _merchant(runtime)
    case = w.act(w.case(type_="refund_only").id, "approve", {"return_address_id": "sh"})
    assert case.status == "refunded" and case.return_address is None and case.return_address_id is None


def test_approve_by_id_resolves_against_the_cases_own_merchant(runtime, clock):
    w = World(runtime, clock)
    _merchant(runtime, "m-2", [{"id": "elsewhere", "name": "林", "phone": "1", "address": "广州"}], "服饰店")
    _merchant(runtime)
    case = w.case()
    with pytest.raises(ValidationFailed) as raised:
        w.act(case.id, "approve", {"return_address_id": "elsewhere"})
    assert raised.value.code == "unknown_return_address"
    assert w.get_case(case.id).status == "pending_merchant"


@pytest.mark.parametrize(
    "profile",
    [
        {"name": "店", "timezone": "Not/AZone"},
        {"name": "店", "return_addresses": [{**BOOK[0], "id": f"a{i}"} for i in range(21)]},
        {"name": "店", "return_addresses": [BOOK[0], BOOK[0]]},
        {"name": "店", "return_addresses": [{**BOOK[0], "name": "人" * 65}]},
        {"name": "  "},
        {"name": "店", "return_addresses": [{"id": "x", "name": "人"}]},
    ],
)
def test_a_bad_profile_is_refused_by_the_service_itself(runtime, profile):
    with runtime.uow() as uow, pytest.raises(ValidationFailed):
        parties.upsert_merchant(uow, runtime.env, Actor("admin", "admin-1"), "m-1", profile)
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.merchants)).scalar_one() == 0


def test_a_listing_page_looks_up_its_parties_names_in_one_query(runtime, clock):
    w = World(runtime, clock)
    _merchant(runtime)
    _merchant(runtime, "m-2", [], "服饰店")
    for merchant in ("m-1", "m-2", "m-1"):
        w.case(w.order(merchant=merchant))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "merchants" in statement or "buyers" in statement:
            statements.append(statement)

    sa.event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with runtime.uow() as uow:
            page = reads.cases(uow, AGENT)
            names = parties.names(uow, page.items)
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(page.items) == 3 and len(statements) == 1
    assert [names.merchant(c.merchant_id) for c in page.items] == ["西湖茶庄", "服饰店", "西湖茶庄"]
    assert names.buyer("b-1") is None  # (no buyer profile)
