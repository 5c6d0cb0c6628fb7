"""Listings (docs/api.md "Orders", "After-sales cases"): keyset pagination with `limit` and an opaque
`cursor` walks every row exactly once, newest first; filters narrow; a bad cursor is 422."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from api_builders import ADDRESS, assert_problem, feed_order, file_case


def _walk(client, path: str, limit: int, **params) -> tuple[list[dict], int]:
    """Every item of a listing, page by page; and the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "the cursor never ends"


def _feed_spread(api, n: int, *, tick: timedelta | None = timedelta(seconds=1), **kw) -> list[str]:
    """n orders fed one `tick` apart (None: all at the same instant); their ids, oldest first."""
    ids = []
    for i in range(n):
        ids.append(f"o-{i:03d}")
        feed_order(api, ids[-1], upto="created", **kw)
        if tick:
            api.clock.advance(tick)
    return ids


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_order_pages_walk_every_order_once_newest_first(api, limit):
    ids = _feed_spread(api, 7)
    items, pages = _walk(api.as_("agent"), "/v1/orders", limit)
    assert [o["id"] for o in items] == ids[::-1]
    assert pages == max(1, -(-len(ids) // limit))
    created = [o["created_at"] for o in items]
    assert created == sorted(created, reverse=True)


def test_orders_created_at_the_same_instant_are_still_walked_exactly_once(api):
    """The cursor is (created_at, id): ties on the time fall back to the id, nothing is skipped."""
    ids = _feed_spread(api, 6, tick=None)
    items, _ = _walk(api.as_("agent"), "/v1/orders", 4)
    assert sorted(o["id"] for o in items) == sorted(ids) and len(items) == len(ids)
    assert [o["id"] for o in items] == sorted(ids, reverse=True)


def test_rows_added_while_walking_do_not_disturb_the_walk(api):
    ids = _feed_spread(api, 4)
    agent = api.as_("agent")
    first = agent.get("/v1/orders", params={"limit": 2}).json()
    feed_order(api, "o-new", upto="created")  # newer than everything: belongs before page one
    rest, _ = _walk(agent, "/v1/orders", 2, cursor=first["next_cursor"])
    assert [o["id"] for o in first["items"] + rest] == ids[::-1]


def test_case_pages_walk_every_case_once_newest_first(api):
    case_ids = []
    for i in range(5):
        feed_order(api, f"o-{i}")
        case_ids.append(file_case(api, f"o-{i}")["id"])
        api.clock.advance(timedelta(seconds=1))
    for client in (api.as_("agent"), api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")):
        items, pages = _walk(client, "/v1/after-sales", 2)
        assert [c["id"] for c in items] == case_ids[::-1] and pages == 3


def test_an_empty_listing_has_no_next_cursor(api):
    r = api.as_("agent").get("/v1/after-sales")
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage!",
    "e30",
    "a",
    _cursor({}),
    _cursor([1, 2]),
    _cursor(["not a time", "o-1"]),
    _cursor(["2026-11-24T10:00:00", "o-1"]),
    _cursor(["2026-11-24T10:00:00+08:00", 7]),
    _cursor(["2026-11-24T10:00:00+08:00"]),
    _cursor("ab"),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_bad_cursor_is_422(api, cursor):
    feed_order(api, "o-1", upto="created")
    for path in ("/v1/orders", "/v1/after-sales"):
        problem = assert_problem(api.as_("agent").get(path, params={"cursor": cursor}), 422, "validation_error")
        assert "cursor" in problem["detail"] or "cursor" in json.dumps(problem)


@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1.5"])
def test_limit_out_of_range_is_422(api, limit):
    for path in ("/v1/orders", "/v1/after-sales"):
        assert_problem(api.as_("agent").get(path, params={"limit": limit}), 422, "validation_error")


def test_order_filters_status_merchant_and_buyer(api):
    feed_order(api, "o-1", buyer="b-1", merchant="m-1", upto="created")
    feed_order(api, "o-2", buyer="b-1", merchant="m-2", upto="stocking")
    feed_order(api, "o-3", buyer="b-2", merchant="m-1", upto="delivered")
    feed_order(api, "o-4", buyer="b-2", merchant="m-2", upto="delivered")
    agent = api.as_("agent")

    def ids(**params) -> list[str]:
        return sorted(o["id"] for o in agent.get("/v1/orders", params=params).json()["items"])

    assert ids(status="delivered") == ["o-3", "o-4"]
    assert ids(status="awaiting_payment") == ["o-1"]
    assert ids(merchant_id="m-1") == ["o-1", "o-3"]
    assert ids(buyer_id="b-2") == ["o-3", "o-4"]
    assert ids(status="delivered", merchant_id="m-2") == ["o-4"]
    assert ids(status="cancelled") == []
    items, _ = _walk(agent, "/v1/orders", 1, merchant_id="m-2")
    assert [o["id"] for o in items] == ["o-4", "o-2"]


def test_case_filters_status_merchant_and_order(api):
    for oid, merchant in (("o-1", "m-1"), ("o-2", "m-1"), ("o-3", "m-2")):
        feed_order(api, oid, merchant=merchant)
    c1, c2, c3 = (file_case(api, oid)["id"] for oid in ("o-1", "o-2", "o-3"))
    r = api.as_("merchant", merchant_id="m-1").post(f"/v1/after-sales/{c2}/approve", json={"return_address": ADDRESS})
    assert r.status_code == 200
    agent = api.as_("agent")

    def ids(**params) -> set[str]:
        return {c["id"] for c in agent.get("/v1/after-sales", params=params).json()["items"]}

    assert ids(status="pending_merchant") == {c1, c3}
    assert ids(status="awaiting_return") == {c2}
    assert ids(merchant_id="m-1") == {c1, c2}
    assert ids(merchant_id="m-2") == {c3}
    assert ids(order_id="o-2") == {c2}
    assert ids(order_id="o-2", status="pending_merchant") == set()
    assert ids(status="refunded") == set()
