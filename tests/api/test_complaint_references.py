"""What a complaint names must be the complainant's to name: an order, dispute or party the caller
cannot see is the same 404 as a missing one; one it can see but that does not fit the rest of the
complaint is a 422. Either way nothing is written."""

from __future__ import annotations

import pytest

from api_builders import assert_problem, db_state, feed_order, file_case

# o-1: b-1 bought from m-1; o-2: b-2 from m-1 (the same shop); o-3: b-1 from m-2 (the same buyer).
ORDERS = {"o-1": ("b-1", "m-1"), "o-2": ("b-2", "m-1"), "o-3": ("b-1", "m-2")}


def _world(api):
    """The three orders, each with a refused request escalated to a dispute; order -> dispute id."""
    disputes = {}
    for order_id, (buyer, merchant) in ORDERS.items():
        feed_order(api, order_id, buyer=buyer, merchant=merchant)
        case = file_case(api, order_id, buyer=buyer)
        r = api.as_("merchant", merchant_id=merchant).post(
            f"/v1/after-sales/{case['id']}/reject", json={"reason": "no_quality_issue"}
        )
        assert r.status_code == 200, r.text
        r = api.as_("buyer", buyer).post(f"/v1/after-sales/{case['id']}/escalate", json={"statement": "请介入"})
        assert r.status_code == 200, r.text
        disputes[order_id] = r.json()["dispute_id"]
    return disputes


def _fill(refs, disputes):
    """The request's references, with a dispute named by its order ("d:o-1") made its real id."""
    return {k: disputes[v[2:]] if isinstance(v, str) and v.startswith("d:") else v for k, v in refs.items()}


BUYER_REFUSED = [
    ({"order_id": "o-404"}, 404, "not_found"),
    ({"order_id": "o-2"}, 404, "not_found"),  # another buyer's order
    ({"order_id": "o-1", "merchant_id": "m-2"}, 422, "reference_mismatch"),  # not the order's merchant
    ({"dispute_id": "dp-404", "merchant_id": "m-1"}, 404, "not_found"),
    ({"dispute_id": "d:o-2"}, 404, "not_found"),  # another buyer's dispute
    ({"dispute_id": "d:o-3", "order_id": "o-1"}, 422, "reference_mismatch"),  # not about that order
    ({"dispute_id": "d:o-3", "merchant_id": "m-1"}, 422, "reference_mismatch"),  # about another shop
    ({"merchant_id": "m-1", "buyer_id": "b-2"}, 422, "reference_mismatch"),  # a buyer complains as themself
]
MERCHANT_REFUSED = [
    ({"order_id": "o-404"}, 404, "not_found"),
    ({"order_id": "o-3"}, 404, "not_found"),  # another shop's order
    ({"order_id": "o-1", "buyer_id": "b-2"}, 422, "reference_mismatch"),  # b-2 did not buy on o-1
    ({"dispute_id": "dp-404"}, 404, "not_found"),
    ({"dispute_id": "d:o-3"}, 404, "not_found"),  # another shop's dispute
    ({"dispute_id": "d:o-2", "order_id": "o-1"}, 422, "reference_mismatch"),  # not about that order
    ({"dispute_id": "d:o-1", "buyer_id": "b-2"}, 422, "reference_mismatch"),  # not that dispute's buyer
    ({"buyer_id": "b-1", "merchant_id": "m-2"}, 422, "reference_mismatch"),  # a shop complains as itself
]


@pytest.mark.parametrize(("refs", "status", "code"), BUYER_REFUSED)
def test_a_buyer_names_only_their_own_order_and_dispute_and_their_merchant(api, runtime, refs, status, code):
    disputes = _world(api)
    before = db_state(runtime)
    body = {"category": "service_attitude", "description": "客服态度恶劣", **_fill(refs, disputes)}
    assert_problem(api.as_("buyer", "b-1").post("/v1/complaints", json=body), status, code)
    assert db_state(runtime) == before


@pytest.mark.parametrize(("refs", "status", "code"), MERCHANT_REFUSED)
def test_a_merchant_names_only_its_shop_s_order_and_dispute_and_their_buyer(api, runtime, refs, status, code):
    disputes = _world(api)
    before = db_state(runtime)
    body = {"category": "buyer_abuse", "description": "恶意差评", **_fill(refs, disputes)}
    assert_problem(api.as_("merchant", merchant_id="m-1").post("/v1/complaints", json=body), status, code)
    assert db_state(runtime) == before


def test_a_consistent_complaint_is_filed_and_a_dispute_supplies_its_order_and_parties(api):
    disputes = _world(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    r = buyer.post(
        "/v1/complaints",
        json={"category": "service_attitude", "description": "客服态度恶劣", "dispute_id": disputes["o-3"]},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["merchant_id"], r.json()["order_id"], r.json()["buyer_id"]) == ("m-2", "o-3", "b-1")
    r = buyer.post(
        "/v1/complaints",
        json={"category": "service_attitude", "description": "x", "order_id": "o-1", "merchant_id": "m-1"},
    )
    assert r.status_code == 201, r.text
    r = merchant.post(
        "/v1/complaints",
        json={"category": "ruling_objection", "description": "判责不公", "dispute_id": disputes["o-2"]},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["merchant_id"], r.json()["order_id"], r.json()["buyer_id"]) == ("m-1", "o-2", "b-2")
    r = merchant.post(
        "/v1/complaints",
        json={"category": "buyer_abuse", "description": "恶意差评", "order_id": "o-2", "buyer_id": "b-2"},
    )
    assert r.status_code == 201, r.text


def _reviewed(api):
    """o-1 (b-1, m-1), o-2 (b-2, m-1), o-3 (b-1, m-2), completed and reviewed; order -> review id."""
    ids = {}
    for order_id, (buyer, merchant) in ORDERS.items():
        feed_order(api, order_id, buyer=buyer, merchant=merchant, upto="completed")
        r = api.as_("buyer", buyer).post("/v1/reviews", json={"order_id": order_id, "rating": 5, "text": "好"})
        assert r.status_code == 201, r.text
        ids[order_id] = r.json()["id"]
    return ids


def test_a_complaint_of_an_induced_review_points_at_the_review_and_takes_its_order(api):
    reviews = _reviewed(api)
    r = api.as_("buyer", "b-1").post(
        "/v1/complaints",
        json={"category": "induced_review", "description": "商家电话要求改五星好评", "review_id": reviews["o-3"]},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["review_id"], r.json()["order_id"], r.json()["merchant_id"]) == (reviews["o-3"], "o-3", "m-2")
    # A shop complains of an abusive review of its own order (恶意差评).
    r = api.as_("merchant", merchant_id="m-1").post(
        "/v1/complaints", json={"category": "buyer_abuse", "description": "恶意差评", "review_id": reviews["o-2"]}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["buyer_id"], r.json()["order_id"]) == ("b-2", "o-2")


REVIEW_REFUSED = [
    ("buyer", {"review_id": "rv-404"}, 404, "not_found"),
    ("buyer", {"review_id": "r:o-2"}, 404, "not_found"),  # another buyer's review
    ("buyer", {"review_id": "r:o-3", "order_id": "o-1"}, 422, "reference_mismatch"),  # not about that order
    ("buyer", {"review_id": "r:o-3", "merchant_id": "m-1"}, 422, "reference_mismatch"),  # of another shop
    ("merchant", {"review_id": "r:o-3"}, 404, "not_found"),  # another shop's review
    ("merchant", {"review_id": "r:o-2", "order_id": "o-1"}, 422, "reference_mismatch"),
    ("merchant", {"review_id": "r:o-1", "buyer_id": "b-2"}, 422, "reference_mismatch"),  # not that buyer's
]


@pytest.mark.parametrize(("who", "refs", "status", "code"), REVIEW_REFUSED)
def test_a_complaint_names_only_a_review_of_its_own_order_and_parties(api, runtime, who, refs, status, code):
    reviews = _reviewed(api)
    refs = {k: reviews[v[2:]] if v.startswith("r:") else v for k, v in refs.items()}
    caller = api.as_("buyer", "b-1") if who == "buyer" else api.as_("merchant", merchant_id="m-1")
    category = "induced_review" if who == "buyer" else "buyer_abuse"
    before = db_state(runtime)
    assert_problem(caller.post("/v1/complaints", json={"category": category, "description": "x", **refs}), status, code)
    assert db_state(runtime) == before
