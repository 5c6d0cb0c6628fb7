"""Merchants' quick replies 话术: a shop's own canned messages, kept for its staff to post on cases.
Only the shop itself reads and keeps them; another shop's are not found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..domain import messages as domain
from ..domain.actions import typed
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.ids import new_id
from ..domain.roles import MERCHANT
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env

_COLUMNS = ("id", "merchant_id", "title", "body", "created_by", "created_at")


def _own(actor: Actor, merchant_id: str) -> None:
    if actor.role != MERCHANT:
        raise Forbidden("reply templates are the merchant's own")
    if actor.merchant_id != merchant_id:
        raise NotFound("merchant not found")


def listing(uow: UnitOfWork, actor: Actor, merchant_id: str) -> list[dict[str, Any]]:
    """The shop's templates, oldest first (at most TEMPLATES_PER_MERCHANT: one page)."""
    _own(actor, merchant_id)
    r = t.reply_templates.c
    query = sa.select(*(r[c] for c in _COLUMNS)).where(r.merchant_id == merchant_id).order_by(r.created_at, r.id)
    return [dict(row._mapping) for row in uow.execute(query)]


def create(
    uow: UnitOfWork, env: Env, actor: Actor, merchant_id: str, data: domain.NewTemplate | Mapping[str, Any]
) -> dict[str, Any]:
    """A new template in the shop's lowest free slot; none left is 409. Two creations racing for
    one slot: the unique (merchant_id, slot) lets one in and the other gets 409 concurrent_update."""
    _own(actor, merchant_id)
    args = typed(domain.NewTemplate, data)
    title = domain.text(args.title, "title", domain.TITLE_MAX)
    body = domain.text(args.body, "body", domain.BODY_MAX)
    r = t.reply_templates.c
    taken = set(uow.execute(sa.select(r.slot).where(r.merchant_id == merchant_id)).scalars())
    free = next((s for s in range(domain.TEMPLATES_PER_MERCHANT) if s not in taken), None)
    if free is None:
        raise Conflict(
            f"a shop keeps at most {domain.TEMPLATES_PER_MERCHANT} reply templates; delete one first",
            code="too_many_templates",
        )
    now = env.clock.now()
    row = {
        "id": new_id("rt", now),
        "merchant_id": merchant_id,
        "title": title,
        "body": body,
        "created_by": actor.id,
        "created_at": now,
    }
    uow.execute(t.reply_templates.insert().values(slot=free, **row))
    return row


def delete(uow: UnitOfWork, actor: Actor, merchant_id: str, template_id: str) -> None:
    """Messages posted from it keep their text and its id."""
    _own(actor, merchant_id)
    r = t.reply_templates.c
    gone = uow.execute(t.reply_templates.delete().where(r.id == template_id, r.merchant_id == merchant_id))
    if gone.rowcount != 1:
        raise NotFound("reply template not found")
