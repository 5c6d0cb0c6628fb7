"""Merchant and buyer profiles: upserted by the marketplace, read by their owners and the staff,
and looked up in bulk so that every view shows names rather than ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..domain import parties as domain
from ..domain.actions import typed
from ..domain.errors import Forbidden, NotFound, ValidationFailed
from ..domain.parties import BuyerProfile, MerchantProfile, ReturnAddress
from ..domain.roles import ALL_TENANTS, BUYER, MARKETPLACE, MERCHANT
from ..store import bulk
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor, Env

m, b = t.merchants.c, t.buyers.c


def upsert_merchant(
    uow: UnitOfWork, env: Env, actor: Actor, merchant_id: str, data: MerchantProfile | Mapping[str, Any]
) -> dict[str, Any]:
    """Create or replace a merchant's profile (the same body twice changes nothing but updated_at)."""
    _check_feeder(actor)
    domain.check_id(merchant_id, "merchant")
    profile = domain.merchant_profile(data)
    return _upsert(uow, env, t.merchants, merchant_id, domain.as_row(profile))


def upsert_buyer(
    uow: UnitOfWork, env: Env, actor: Actor, buyer_id: str, data: BuyerProfile | Mapping[str, Any]
) -> dict[str, Any]:
    _check_feeder(actor)
    domain.check_id(buyer_id, "buyer")
    profile = domain.buyer_profile(data)
    return _upsert(uow, env, t.buyers, buyer_id, {"display_name": profile.display_name})


def get_merchant(uow: UnitOfWork, actor: Actor, merchant_id: str) -> dict[str, Any]:
    """The merchant itself and the staff (agents, admin, the marketplace); another shop's profile is
    not found, as everything of another shop is."""
    if actor.role not in {MERCHANT, *ALL_TENANTS}:
        raise Forbidden("a merchant's profile is for the merchant itself and the platform")
    if actor.role == MERCHANT and actor.merchant_id != merchant_id:
        raise NotFound("merchant not found")
    return _row(uow, t.merchants, merchant_id, "merchant")


def get_buyer(uow: UnitOfWork, actor: Actor, buyer_id: str) -> dict[str, Any]:
    """The buyer itself and the staff."""
    if actor.role not in {BUYER, *ALL_TENANTS}:
        raise Forbidden("a buyer's profile is for the buyer itself and the platform")
    if actor.role == BUYER and actor.id != buyer_id:
        raise NotFound("buyer not found")
    return _row(uow, t.buyers, buyer_id, "buyer")


def merchant_profile(uow: UnitOfWork, merchant_id: str) -> MerchantProfile | None:
    """The merchant's profile as the rules use it (no caller: for other use cases)."""
    row = uow.execute(sa.select(t.merchants).where(m.id == merchant_id)).first()
    return _profile(row) if row is not None else None


def book_address(uow: UnitOfWork, merchant_id: str, address_id: str) -> ReturnAddress:
    """An address of the merchant's book, or a 422 saying it has none by that id."""
    profile = merchant_profile(uow, merchant_id)
    found = profile.address(address_id) if profile else None
    if found is None:
        raise ValidationFailed(
            f"the merchant's return-address book has no address {address_id!r}",
            code="unknown_return_address",
            fields=["return_address_id"],
        )
    return found


def default_addresses(uow: UnitOfWork, merchant_ids: Iterable[str]) -> dict[str, ReturnAddress]:
    """Merchant id -> its default return address, for those that have a book: one query."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return {}
    rows = uow.execute(sa.select(t.merchants).where(bulk.among(uow.conn, m.id, ids)))
    return {r.id: a for r in rows if (a := _profile(r).default_address) is not None}


@dataclass(frozen=True)
class Names:
    """Display names of the merchants and buyers some subjects name (absent: no profile)."""

    merchants: Mapping[str, str] = field(default_factory=dict)
    buyers: Mapping[str, str] = field(default_factory=dict)

    def merchant(self, merchant_id: str | None) -> str | None:
        return self.merchants.get(merchant_id) if merchant_id else None

    def buyer(self, buyer_id: str | None) -> str | None:
        return self.buyers.get(buyer_id) if buyer_id else None


# Built once (every answer that shows a case names its parties): see store/repositories.py.
_NAMES = sa.union_all(
    sa.select(sa.literal("m").label("side"), m.id, m.name.label("name")).where(
        m.id.in_(sa.bindparam("_merchants", expanding=True))
    ),
    sa.select(sa.literal("b").label("side"), b.id, b.display_name.label("name")).where(
        b.id.in_(sa.bindparam("_buyers", expanding=True))
    ),
)


def names(uow: UnitOfWork, subjects: Iterable[Any]) -> Names:
    """The names of the parties of `subjects` (anything with merchant_id and buyer_id), in one
    query for a whole listing page."""
    subjects = list(subjects)
    merchant_ids = sorted({s.merchant_id for s in subjects if getattr(s, "merchant_id", None)})
    buyer_ids = sorted({s.buyer_id for s in subjects if getattr(s, "buyer_id", None)})
    if not merchant_ids and not buyer_ids:
        return Names()
    found: dict[str, dict[str, str]] = {"m": {}, "b": {}}
    for row in uow.execute(_NAMES, {"_merchants": merchant_ids, "_buyers": buyer_ids}):
        found[row.side][row.id] = row.name
    return Names(found["m"], found["b"])


Directory = dict[str, list[tuple[str, str]]]


def directory(uow: UnitOfWork, limit: int = 50) -> Directory:
    """Buyers, shops and agents by id and name (the demo console's sign-in page lists them)."""
    a = t.agents.c
    return {
        "buyer": [
            (r.id, r.display_name) for r in uow.execute(sa.select(b.id, b.display_name).order_by(b.id).limit(limit))
        ],
        "merchant": [(r.id, r.name) for r in uow.execute(sa.select(m.id, m.name).order_by(m.id).limit(limit))],
        "agent": [(r.id, r.name) for r in uow.execute(sa.select(a.id, a.name).order_by(a.id).limit(limit))],
        "admin": [("admin-1", "admin-1")],
    }


def _check_feeder(actor: Actor) -> None:
    if actor.role not in MARKETPLACE:
        raise Forbidden("profiles are fed by the marketplace's integration (or an admin)")


def _upsert(uow: UnitOfWork, env: Env, table: sa.Table, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
    now = env.clock.now()
    c = table.c
    updated = uow.execute(table.update().where(c.id == row_id).values(**values, updated_at=now))
    if updated.rowcount == 0:
        uow.execute(table.insert().values(id=row_id, **values, created_at=now, updated_at=now))
    return _row(uow, table, row_id, table.name)


def _row(uow: UnitOfWork, table: sa.Table, row_id: str, what: str) -> dict[str, Any]:
    row = uow.execute(sa.select(table).where(table.c.id == row_id)).first()
    if row is None:
        raise NotFound(f"{what} not found")
    return dict(row._mapping)


def _profile(row: Any) -> MerchantProfile:
    book = tuple(typed(ReturnAddress, a) for a in row.return_addresses or ())
    return MerchantProfile(name=row.name, timezone=row.timezone, return_addresses=book)
