"""The data of an order and of an after-sales request, defined once for every level of the
suite: the HTTP builders post these bodies, the service-level World passes them to the services."""

from __future__ import annotations

from typing import Any

ADDRESS = "杭州市西湖区龙井路 18 号"
# The statuses an order goes through once placed, and the action that reaches each, by payment method.
ORDER_STATUSES = ["stocking", "shipped", "delivered", "completed"]
_ORDER_ACTIONS = {
    "online": ["pay", "ship", "deliver", "complete"],
    "cod": ["confirm", "ship", "deliver", "complete"],
}


def order_body(
    order_id: str = "o-1001",
    *,
    buyer: str = "b-1",
    merchant: str = "m-1",
    method: str = "online",
    quantity: int = 2,
    unit_price: int = 9900,
    shipping_fee: int = 1000,
    policy: str | None = None,
    items: list[dict[str, Any]] | None = None,
    discount: int = 0,
    creator: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order_id,
        "buyer_id": buyer,
        "merchant_id": merchant,
        "payment_method": method,
        "currency": "CNY",
        "shipping_fee": shipping_fee,
        "items": items
        or [{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": quantity, "unit_price": unit_price}],
    }
    if discount:
        body["discount"] = discount
    if policy is not None:
        body["policy"] = policy
    if creator is not None:
        body["creator_id"] = creator
    return body


def order_path(method: str, upto: str) -> list[str]:
    """The actions that take a new order of `method` up to status `upto` (none for an unknown one)."""
    return _ORDER_ACTIONS[method][: ORDER_STATUSES.index(upto) + 1] if upto in ORDER_STATUSES else []


def ship_params(order_id: str) -> dict[str, str]:
    return {"carrier": "SF", "tracking_number": f"SF-{order_id}"}


def case_body(order_id: str = "o-1001", **over: Any) -> dict[str, Any]:
    body = {"order_id": order_id, "type": "return_refund", "reason": "quality_problem", "description": "茶叶受潮结块"}
    body.update(over)
    return body
