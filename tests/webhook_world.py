"""Webhook endpoints laid down for relay tests, and reading back what became of the deliveries."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from aftersales.runtime import Runtime
from aftersales.store import tables as t
from aftersales.worker.relay import Relay
from webhook_receiver import SECRET

OLD_SECRET = "whsec_" + "b2xkLXNlY3JldC1vZi10aGUtdGVzdC1yZWNlaXZlci0zMg=="


def endpoint(
    runtime: Runtime,
    url: str,
    *,
    id: str = "ep_1",
    merchant: str | None = None,
    events: list[str] | None = None,
    secret: str = SECRET,
    previous: str | None = None,
    previous_expires_at: datetime | None = None,
    status: str = "enabled",
    failure_streak: int = 0,
) -> str:
    now = runtime.env.clock.now()
    with runtime.engine.begin() as conn:
        conn.execute(
            t.webhook_endpoints.insert().values(
                id=id,
                merchant_id=merchant,
                url=url,
                events=events or ["*"],
                secret=secret,
                previous_secret=previous,
                previous_secret_expires_at=previous_expires_at,
                status=status,
                failure_streak=failure_streak,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
    return id


def relay(runtime: Runtime, **options: Any) -> Relay:
    options = {"allow_private": True, "timeout": 5.0, "rng": random.Random(7), **options}
    return Relay(runtime.engine, runtime.env, **options)


def drain(r: Relay, rounds: int = 200) -> int:
    """Run rounds until one finds nothing to do; the work done."""
    total = 0
    for _ in range(rounds):
        work = r.run_once()
        if not work:
            return total
        total += work
    raise AssertionError("the relay still had work after 200 rounds")


def rows(runtime: Runtime, table: sa.Table, *where: Any, order: Any = None) -> list[Any]:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where).order_by(order if order is not None else table.c[0])).all()


def outbox_ids(runtime: Runtime) -> list[str]:
    return [f"msg_{r.event_id}" for r in rows(runtime, t.outbox, order=t.outbox.c.id)]


def in_order_per_subject(received: list[Any]) -> bool:
    """Whether each subject's messages arrived in the order of their events."""
    seen: dict[str, int] = {}
    for got in received:
        subject = f"{got.doc['data']['subject']}:{got.doc['data']['id']}"
        event_id = got.doc["data"]["event_id"]
        if seen.get(subject, -1) >= event_id:
            return False
        seen[subject] = event_id
    return True
