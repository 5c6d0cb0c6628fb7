"""Keyset pagination: opaque cursors over (created_at, id), stable under inserts. An id is a
string, or an integer for tables keyed by a sequence (the cursor carries it as a string).

A cursor is `<microseconds since the epoch>.<the id's UTF-8 bytes in hex>`: tight enough that the
OpenAPI can declare its exact pattern and every string matching it is a cursor (a bound that may
match no row), so a client is never told "invalid" for a value the document allows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..domain.errors import ValidationFailed

MAX_LIMIT = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A byte of the id: any but NUL (PostgreSQL cannot compare a text holding one).
_BYTE = "(?:0[1-9a-f]|[1-9a-f][0-9a-f])"
# 16 digits of microseconds reach the year 2286; ids are at most 64 bytes (api/schemas.py Id).
CURSOR_PATTERN = rf"^[0-9]{{1,16}}\.{_BYTE}{{1,64}}$"
# A sequence-keyed table's: the id's bytes are ASCII digits, few enough for a BIGINT.
SEQUENCE_CURSOR_PATTERN = r"^[0-9]{1,16}\.(?:3[0-9]){1,18}$"
CURSOR_MAX_LENGTH = 16 + 1 + 2 * 64
_CURSOR = re.compile(CURSOR_PATTERN)


def encode(created_at: datetime, id: str) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{id.encode().hex()}"


def decode(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of a cursor; 422 for one that breaks the pattern (from a console page's
    query string, say: the API refuses those before they get here)."""
    if _CURSOR.fullmatch(cursor) is None:
        raise ValidationFailed("invalid cursor", fields=["cursor"])
    micros, hexed = cursor.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), bytes.fromhex(hexed).decode(errors="replace")


def encode_due(due_at: datetime | None, id: str) -> str:
    """A cursor over (a deadline that may be absent, id): the merchant's queue by urgency. No
    deadline is written `n` where the microseconds go."""
    return encode(due_at, id) if due_at is not None else f"n.{id.encode().hex()}"


def decode_due(cursor: str) -> tuple[datetime | None, str]:
    if cursor.startswith("n."):
        _, id = decode("0" + cursor[1:])
        return None, id
    return decode(cursor)


def page(
    conn: sa.Connection, table: sa.Table, where: list[Any], cursor: str | None, limit: int, newest_first: bool = True
) -> tuple[list[Any], str | None]:
    """One page of rows and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", fields=["limit"])
    key = sa.tuple_(table.c.created_at, table.c.id)
    clauses = list(where)
    if cursor:
        at, id = decode(cursor)
        bound = sa.tuple_(sa.literal(at, table.c.created_at.type), sa.literal(_key(table, id), table.c.id.type))
        clauses.append(key < bound if newest_first else key > bound)
    order = (table.c.created_at.desc(), table.c.id.desc()) if newest_first else (table.c.created_at, table.c.id)
    found = conn.execute(sa.select(table).where(*clauses).order_by(*order).limit(limit + 1)).all()
    rows = list(found[:limit])
    return rows, (encode(rows[-1].created_at, str(rows[-1].id)) if len(found) > limit else None)


def _key(table: sa.Table, id: str) -> str | int:
    """The cursor's id as the table's key: digits that fit a BIGINT for a sequence-keyed table."""
    if not isinstance(table.c.id.type, sa.Integer):
        return id
    if not (id.isascii() and id.isdigit() and len(id) <= 18):
        raise ValidationFailed("invalid cursor", fields=["cursor"])
    return int(id)
