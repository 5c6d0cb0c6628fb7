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
from bodies import ADDRESS, ORDER_STATUSES, case_body, order_body, order_path, ship_params

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
__all__ = ["ADDRESS", "assert_problem", "case_body", "db_state", "feed_order", "file_case", "order_body", "race"]


def feed_order(api: Any, order_id: str = "o-1001", *, upto: str = "delivered", **body: Any) -> dict[str, Any]:
    """Create an order as the marketplace and move it up to `upto` (default: delivered)."""
    market = api.as_("integration", "marketplace")
    data = order_body(order_id, **body)
    r = market.post("/v1/orders", json=data)
    assert r.status_code == 201, r.text
    order = r.json()
    merchant = api.as_("merchant", merchant_id=data["merchant_id"])
    for action, status in zip(order_path(data["payment_method"], upto), ORDER_STATUSES, strict=False):
        caller = merchant if action == "confirm" else market
        r = caller.post(f"/v1/orders/{order_id}/{action}", json=ship_params(order_id) if action == "ship" else None)
        assert r.status_code == 200 and r.json()["status"] == status, r.text
        order = r.json()
    return order


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
