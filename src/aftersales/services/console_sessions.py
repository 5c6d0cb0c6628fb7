"""Console sign-ins: start one for a caller, find it again from its cookie, end it.

The cookie carries a random token; only its SHA-256 is stored, with who it is and the CSRF token
every form of the session must send back. Ending a session deletes its row, so a stolen cookie
stops working at sign-out, not at expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..domain.roles import BUYER, MERCHANT, PLATFORM
from ..store import tables as t
from ..store.unit_of_work import UnitOfWork
from .context import Actor

TTL = timedelta(hours=12)
# A token is 32 random bytes, URL-safe: anything else in the cookie is no session, unread.
TOKEN_LENGTH = 43


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf: str
    expires_at: datetime
    name: str | None = None  # the person's profile name (a buyer's, the shop's, an agent's), if any
    shop_zone: str | None = None  # for shop staff: the shop's timezone, if its profile has one


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(uow: UnitOfWork, actor: Actor, now: datetime, ttl: timedelta = TTL) -> tuple[str, Session]:
    """A new session for `actor`: its cookie token and the session. Expired rows go on the way."""
    token = secrets.token_urlsafe(32)
    session = Session(actor, secrets.token_urlsafe(32), now + ttl)
    uow.conn.execute(t.console_sessions.delete().where(t.console_sessions.c.expires_at <= now))
    uow.conn.execute(
        t.console_sessions.insert().values(
            token_hash=_hash(token),
            role=actor.role,
            actor_id=actor.id,
            merchant_id=actor.merchant_id,
            csrf=session.csrf,
            created_at=now,
            expires_at=session.expires_at,
        )
    )
    return token, session


def resume(uow: UnitOfWork, token: str | None, now: datetime) -> Session | None:
    """The live session a cookie's token names, or None (absent, malformed, unknown, expired),
    with what to call the person and, for shop staff, the shop's timezone: one read, since every
    console page starts with it (the profile joined by the role that has one)."""
    if not token or len(token) != TOKEN_LENGTH:
        return None
    c, m, b, a = t.console_sessions.c, t.merchants.c, t.buyers.c, t.agents.c
    name = sa.case(
        (c.role == MERCHANT, m.name),
        (c.role == BUYER, b.display_name),
        (c.role.in_(sorted(PLATFORM)), a.name),
        else_=None,
    )
    query = (
        sa.select(c.role, c.actor_id, c.merchant_id, c.csrf, c.expires_at, name.label("name"), m.timezone)
        .select_from(
            t.console_sessions.outerjoin(t.merchants, sa.and_(c.role == MERCHANT, m.id == c.merchant_id))
            .outerjoin(t.buyers, sa.and_(c.role == BUYER, b.id == c.actor_id))
            .outerjoin(t.agents, sa.and_(c.role.in_(sorted(PLATFORM)), a.id == c.actor_id))
        )
        .where(c.token_hash == _hash(token))
    )
    row = uow.conn.execute(query).first()
    if row is None or row.expires_at <= now:
        return None
    return Session(Actor(row.role, row.actor_id, row.merchant_id), row.csrf, row.expires_at, row.name, row.timezone)


def end(uow: UnitOfWork, token: str | None) -> None:
    if token:
        uow.conn.execute(t.console_sessions.delete().where(t.console_sessions.c.token_hash == _hash(token)))
