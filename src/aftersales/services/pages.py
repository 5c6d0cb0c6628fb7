"""Keyset pagination: opaque cursors over (created_at, id), stable under inserts. An id is a
string, or an integer for tables keyed by a sequence (the cursor carries it as a string)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..domain.errors import ValidationFailed

MAX_LIMIT = 200


def encode(created_at: datetime, id: str) -> str:
    raw = json.dumps([created_at.isoformat(), id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(id, str):
            raise ValueError
        when.astimezone(UTC)  # year 1 at +14:00 has no UTC value: OverflowError
        return when, id
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed("invalid cursor", fields=["cursor"]) from None


def page(
    conn: sa.Connection,
    table: sa.Table,
    where: list[Any],
    cursor: str | None,
    limit: int,
    newest_first: bool = True,
    by: str = "created_at",
) -> tuple[list[Any], str | None]:
    """One page of rows and the cursor of the next page (None at the end), keyed on (`by`, id):
    `by` is a non-null timestamp column (created_at, or a deadline for a queue sorted by urgency)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", fields=["limit"])
    column = table.c[by]
    key = sa.tuple_(column, table.c.id)
    clauses = [*where, column.is_not(None)] if column.nullable else list(where)
    if cursor:
        at, id = decode(cursor)
        bound = sa.tuple_(sa.literal(at, column.type), sa.literal(_key(table, id), table.c.id.type))
        clauses.append(key < bound if newest_first else key > bound)
    order = (column.desc(), table.c.id.desc()) if newest_first else (column, table.c.id)
    found = conn.execute(sa.select(table).where(*clauses).order_by(*order).limit(limit + 1)).all()
    rows = list(found[:limit])
    return rows, (encode(getattr(rows[-1], by), str(rows[-1].id)) if len(found) > limit else None)


def _key(table: sa.Table, id: str) -> str | int:
    """The cursor's id as the table's key: digits that fit a BIGINT for a sequence-keyed table."""
    if not isinstance(table.c.id.type, sa.Integer):
        return id
    if not (id.isascii() and id.isdigit() and len(id) <= 18):
        raise ValidationFailed("invalid cursor", fields=["cursor"])
    return int(id)
