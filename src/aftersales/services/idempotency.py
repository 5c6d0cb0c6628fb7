"""Stored responses for `Idempotency-Key`: written in the action's own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store import tables as t
from ..store.unit_of_work import UnitOfWork

KEEP_FOR_HOURS = 48  # keys outlive any client retry loop by far (the contract asks >= 24 h)


def lookup(uow: UnitOfWork, principal: str, key: str) -> Any:
    k = t.idempotency_keys.c
    return uow.execute(sa.select(t.idempotency_keys).where(k.principal == principal, k.key == key)).first()


def remember(uow: UnitOfWork, *, principal: str, key: str, request_hash: str, status_code: int, body: str,
             headers: dict[str, str], now: datetime) -> None:
    uow.execute(t.idempotency_keys.insert().values(
        principal=principal, key=key, request_hash=request_hash, status_code=status_code, body=body,
        headers=headers, created_at=now,
    ))


def purge(uow: UnitOfWork, now: datetime) -> int:
    cutoff = now - timedelta(hours=KEEP_FOR_HOURS)
    return uow.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.created_at < cutoff)).rowcount
