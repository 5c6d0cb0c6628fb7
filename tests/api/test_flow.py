"""The happy paths over real HTTP: feed an order, file a request, take it to its end."""

from bodies import case_body, order_body


def _delivered_order(api, body=None):
    body = body or order_body()
    market = api.as_("integration", "marketplace")
    assert market.post("/v1/orders", json=body).status_code == 201
    assert market.post(f"/v1/orders/{body['id']}/pay").json()["status"] == "stocking"
    assert (
        market.post(f"/v1/orders/{body['id']}/ship", json={"carrier": "SF", "tracking_number": "SF1"}).status_code
        == 200
    )
    assert market.post(f"/v1/orders/{body['id']}/deliver").json()["status"] == "delivered"


def test_return_refund_end_to_end_refunds_goods_not_shipping(api):
    _delivered_order(api)
    buyer, merchant = api.as_("buyer", "b-1"), api.as_("merchant", merchant_id="m-1")
    created = buyer.post("/v1/after-sales", json=case_body("o-1001"))
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["amount"] == 19800 and case["status"] == "pending_merchant"
    assert case["deadline"]["action"] == "auto_approve"
    assert created.headers["etag"] == f'"{case["version"]}"'
    cid = case["id"]
    r = merchant.post(f"/v1/after-sales/{cid}/approve", json={"return_address": "杭州"})
    assert r.json()["status"] == "awaiting_return", r.text
    r = buyer.post(f"/v1/after-sales/{cid}/ship-return", json={"carrier": "ZTO", "tracking_number": "ZT9"})
    assert r.json()["status"] == "return_shipped"
    r = merchant.post(f"/v1/after-sales/{cid}/confirm-receipt")
    assert r.json()["status"] == "refunded" and r.json()["deadline"] is None
    refunds = buyer.get("/v1/refunds", params={"order_id": "o-1001"}).json()["items"]
    assert [(x["amount"], x["method"], x["payer"]) for x in refunds] == [(19800, "original_payment", "platform")]
    events = buyer.get(f"/v1/after-sales/{cid}/events").json()["items"]
    assert [e["action"] for e in events] == ["file", "approve", "ship_return", "confirm_receipt"]
