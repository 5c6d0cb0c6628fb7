"""Line items over HTTP: a request names items and quantities, the case reads them back, and the
order's eligibility says per item what remains, what may be refunded and which types are open."""

from __future__ import annotations

from aftersales.domain.cases import TYPES
from api_builders import assert_problem, db_state, feed_order

TWO_LINES = [
    {"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": 2, "unit_price": 9900},
    {"sku": "cup", "title": "青瓷杯", "quantity": 1, "unit_price": 2000},
]


def test_a_request_on_some_units_and_the_eligibility_of_the_rest(api, runtime):
    order = feed_order(api, "o-7", items=TWO_LINES, discount=2180)  # 21 800 of goods, 19 620 paid for them
    assert (order["discount"], order["total"]) == (2180, 21800 - 2180 + 1000)
    buyer = api.as_("buyer", "b-1")
    r = buyer.post(
        "/v1/after-sales",
        json={"order_id": "o-7", "type": "refund_only", "reason": "damaged", "items": [{"sku": "cup", "quantity": 1}]},
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["items"] == [{"sku": "cup", "title": "青瓷杯", "quantity": 1, "unit_price": 2000}]
    assert case["amount"] == 1800  # the cup's share of the discount is 200
    e = buyer.get("/v1/orders/o-7/eligibility")
    assert e.status_code == 200, e.text
    body = e.json()
    assert body["open_after_sale_ids"] == [case["id"]] and body["window_ends_at"] is None
    items = {i["sku"]: i for i in body["items"]}
    assert items["cup"]["quantity_remaining"] == 0 and items["cup"]["types"] == []
    assert items["tea-250g"]["quantity_remaining"] == 2 and items["tea-250g"]["refundable"] == 17820
    assert items["tea-250g"]["types"] == list(TYPES)  # delivered, paid just now: every type
    assert api.as_("buyer", "b-1").get("/v1/orders/o-7").json()["open_after_sale_ids"] == [case["id"]]
    # Asking again for the cup claims what is not there: 422, and nothing is written.
    before = db_state(runtime)
    again = buyer.post(
        "/v1/after-sales",
        json={"order_id": "o-7", "type": "refund_only", "reason": "damaged", "items": [{"sku": "cup", "quantity": 1}]},
    )
    problem = assert_problem(again, 422, "quantity_exceeds_remaining")
    assert problem["quantity_remaining"] == 0
    assert db_state(runtime) == before


def test_malformed_items_are_422(api):
    feed_order(api, "o-8", items=TWO_LINES)
    buyer = api.as_("buyer", "b-1")
    for items in ([], [{"sku": "cup"}], [{"sku": "cup", "quantity": 0}], [{"sku": "cup", "quantity": 1.5}], "cup"):
        r = buyer.post(
            "/v1/after-sales", json={"order_id": "o-8", "type": "refund_only", "reason": "damaged", "items": items}
        )
        assert_problem(r, 422)
    r = buyer.post(
        "/v1/after-sales",
        json={"order_id": "o-8", "type": "refund_only", "reason": "damaged", "items": [{"sku": "x", "quantity": 1}]},
    )
    assert_problem(r, 422, "unknown_item")
    assert api.as_("buyer", "b-2").get("/v1/orders/o-8/eligibility").status_code == 404
