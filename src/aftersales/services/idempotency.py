"""Stored responses for `Idempotency-Key`: written in the action's own transaction."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor

KEEP_FOR_HOURS = 48  # keys outlive any client retry loop by far (the contract asks >= 24 h)
# The status of a key claimed by work that commits by itself, before its response is known.
IN_FLIGHT = 0
PRINCIPAL_MAX = 160  # idempotency_keys.principal


def principal(actor: Actor) -> str:
    """Whose keys these are: role and sub, and for a merchant the shop too, since `sub` is unique
    only within a shop (staff of two shops may share one, and must never see each other's
    responses). Callers without a shop keep the form keys had before shops were part of them,
    so their stored keys stay valid; a merchant's old `merchant:<sub>` rows match no one now
    and expire. The shop's id is length-prefixed, so no (shop, sub) pair reads as another."""
    if actor.merchant_id is None:
        name = f"{actor.role}:{actor.id}"
    else:
        name = f"{actor.role}/{len(actor.merchant_id)}:{actor.merchant_id}:{actor.id}"
    # Ids longer than the schema holds anywhere else still get a key of their own ("sha256" is
    # no role, so the digest never reads as a readable principal).
    return name if len(name) <= PRINCIPAL_MAX else "sha256:" + hashlib.sha256(name.encode()).hexdigest()


# Built once: every POST with a key runs these (SQLAlchemy caches a statement's compiled form by
# a key it computes once per statement object).
_k = t.idempotency_keys.c
_LOOKUP = sa.select(t.idempotency_keys).where(_k.principal == sa.bindparam("_p"), _k.key == sa.bindparam("_k"))
_REMEMBER = t.idempotency_keys.insert()


def lookup(uow: UnitOfWork, principal: str, key: str) -> Any:
    return uow.execute(_LOOKUP, {"_p": principal, "_k": key}).first()


def remember(
    uow: UnitOfWork,
    *,
    principal: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: str,
    headers: dict[str, str],
    now: datetime,
) -> None:
    uow.execute(
        _REMEMBER,
        dict(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            headers=headers,
            created_at=now,
        ),
    )


def complete(
    uow: UnitOfWork, *, principal: str, key: str, status_code: int, body: str, headers: dict[str, str]
) -> None:
    """Fill in the response of a key claimed IN_FLIGHT."""
    k = t.idempotency_keys.c
    uow.execute(
        t.idempotency_keys.update()
        .where(k.principal == principal, k.key == key, k.status_code == IN_FLIGHT)
        .values(status_code=status_code, body=body, headers=headers)
    )


def release(uow: UnitOfWork, principal: str, key: str) -> None:
    """Drop an IN_FLIGHT claim whose work failed, so that a corrected retry may run."""
    k = t.idempotency_keys.c
    uow.execute(t.idempotency_keys.delete().where(k.principal == principal, k.key == key, k.status_code == IN_FLIGHT))


def purge(uow: UnitOfWork, now: datetime) -> int:
    cutoff = now - timedelta(hours=KEEP_FOR_HOURS)
    return uow.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.created_at < cutoff)).rowcount
