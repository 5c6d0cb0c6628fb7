"""Builders for API tests over real HTTP: feed orders, file cases, check problems, and take a
picture of everything stored so a test can prove a rejected request wrote nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from aftersales.runtime import Runtime
from aftersales.store import tables

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
ADDRESS = "杭州市西湖区龙井路 18 号"
# How far `feed_order` takes an order, and the calls that take it there.
_STEPS = ["stocking", "shipped", "delivered", "completed"]


def order_body(
    order_id: str = "o-1001",
    *,
    buyer: str = "b-1",
    merchant: str = "m-1",
    method: str = "online",
    quantity: int = 2,
    unit_price: int = 9900,
    shipping_fee: int = 1000,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "buyer_id": buyer,
        "merchant_id": merchant,
        "payment_method": method,
        "currency": "CNY",
        "shipping_fee": shipping_fee,
        "items": [{"sku": "tea-250g", "title": "西湖龙井 250g", "quantity": quantity, "unit_price": unit_price}],
    }


def feed_order(api: Any, order_id: str = "o-1001", *, upto: str = "delivered", **body: Any) -> dict[str, Any]:
    """Create an order as the marketplace and move it up to `upto` (default: delivered)."""
    market = api.as_("integration", "marketplace")
    data = order_body(order_id, **body)
    r = market.post("/v1/orders", json=data)
    assert r.status_code == 201, r.text
    order = r.json()
    if upto not in _STEPS:
        return order
    merchant = api.as_("merchant", merchant_id=data["merchant_id"])
    for status in _STEPS[: _STEPS.index(upto) + 1]:
        if status == "stocking":
            r = (
                market.post(f"/v1/orders/{order_id}/pay")
                if data["payment_method"] == "online"
                else merchant.post(f"/v1/orders/{order_id}/confirm")
            )
        elif status == "shipped":
            r = market.post(f"/v1/orders/{order_id}/ship", json={"carrier": "SF", "tracking_number": f"SF-{order_id}"})
        else:
            r = market.post(f"/v1/orders/{order_id}/{'deliver' if status == 'delivered' else 'complete'}")
        assert r.status_code == 200 and r.json()["status"] == status, r.text
        order = r.json()
    return order


def case_body(order_id: str = "o-1001", **over: Any) -> dict[str, Any]:
    body = {"order_id": order_id, "type": "return_refund", "reason": "quality_problem", "description": "茶叶受潮结块"}
    body.update(over)
    return body


def file_case(api: Any, order_id: str = "o-1001", *, buyer: str = "b-1", **over: Any) -> dict[str, Any]:
    r = api.as_("buyer", buyer).post("/v1/after-sales", json=case_body(order_id, **over))
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with our stable `code`; returns its body."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status and isinstance(body["detail"], str) and body["title"]
    assert body["type"].endswith(body["code"])
    if code is not None:
        assert body["code"] == code, body
    return body


def db_state(runtime: Runtime) -> dict[str, Any]:
    """Every row of every table, and every stored evidence file: equal pictures, nothing written."""
    picture: dict[str, Any] = {}
    with runtime.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            picture[table.name] = sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    root = Path(runtime.env.data_dir) / "evidence"
    picture["files"] = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return picture


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at once from threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # surfaced by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results
