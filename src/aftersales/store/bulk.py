"""Writing many rows at once (the deadline engine's set-based firing), and an event with its
outbox message in one round trip.

On PostgreSQL the rows travel as one JSON document that `json_to_recordset` turns back into a
typed relation: one round trip, one set-based pass on the server, and a statement text that is
the same whatever the batch size, so it is parsed and planned once. (executemany sends a
statement per row, and a multi-row VALUES list is a new text to parse for every batch.)
SQLite is in-process, with no round trips to save: there executemany is as good.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from . import tables as t


def update_where_version(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Compare-and-set many rows: each dict holds every column, `id`, and `_expected`, the version
    the row must still have. The number of rows written."""
    columns = tuple(name for name in rows[0] if name not in ("id", "_expected"))
    if conn.dialect.name != "postgresql":
        return conn.execute(cas_update(table, columns), [{**r, "_id": r["id"]} for r in rows]).rowcount
    return conn.execute(_pg_update(table.name, columns), {"rows": as_json(rows)}).rowcount


@cache
def cas_update(table: sa.Table, columns: tuple[str, ...]) -> sa.Update:
    """UPDATE `columns` WHERE id = :_id AND version = :_expected, built once (SQLAlchemy then
    finds its compiled form in its cache instead of building the statement per call)."""
    c = table.c
    return (
        table.update()
        .where(c.id == sa.bindparam("_id"), c.version == sa.bindparam("_expected"))
        .values({name: sa.bindparam(name) for name in columns})
    )


def among(conn: sa.Connection, column: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN values`. On PostgreSQL as `= ANY` of one array parameter: an IN list renders a
    parameter per value, so its text (which the driver parses and the server plans every time)
    grows with the list and is never prepared; this one stays the same whatever the list."""
    if conn.dialect.name != "postgresql":
        return column.in_(values)
    return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    conn.execute(_pg_insert(table.name, tuple(rows[0])), {"rows": as_json(rows)})


def insert_events(
    conn: sa.Connection, events: list[dict[str, Any]], topics: list[str], metas: list[dict[str, Any]]
) -> list[int]:
    """Events and their outbox messages, whose payload is the event with its id and its meta (as
    Events.record writes them), in one statement; the events' ids. PostgreSQL only."""
    rows = [
        {**e, "_topic": topic, "_at": e["at"].isoformat(), "_meta": meta}
        for e, topic, meta in zip(events, topics, metas, strict=True)
    ]
    return list(conn.execute(_pg_events(tuple(events[0])), {"rows": as_json(rows)}).scalars())


@cache
def _pg_update(name: str, columns: tuple[str, ...]) -> sa.TextClause:
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    return sa.text(
        f"UPDATE {name} AS t SET {sets} FROM {recordset(name, ('id', '_expected', *columns))} "
        f"WHERE t.id = v.id AND t.version = v._expected"
    )


@cache
def _pg_insert(name: str, columns: tuple[str, ...]) -> sa.TextClause:
    listed = ", ".join(columns)
    return sa.text(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {recordset(name, columns)}")


@cache
def _pg_events(columns: tuple[str, ...]) -> sa.TextClause:
    listed = ", ".join(columns)
    payload = ", ".join(f"'{c}', {c}" for c in columns if c != "at")
    # A CTE calling a volatile function is evaluated once: each row draws its event id once,
    # and both inserts use it. The payload is built by the server rather than shipped twice.
    # The sequence is looked up once (an init plan), not by name for every row.
    return sa.text(
        "WITH v AS (SELECT *, nextval((SELECT CAST(pg_get_serial_sequence('events', 'id') AS regclass))) AS _id "
        f"FROM {recordset('events', ('_topic', '_at', '_meta', *columns))}), "
        f"e AS (INSERT INTO events (id, {listed}) SELECT _id, {listed} FROM v) "
        "INSERT INTO outbox (event_id, topic, payload, created_at, attempts) "
        f"SELECT _id, _topic, (jsonb_build_object({payload}, 'at', _at, 'id', _id) || _meta)::json, at, 0 "
        "FROM v RETURNING event_id"
    )


_EXTRA_TYPES = {
    "_expected": "integer",
    "_topic": "text",
    "_at": "text",
    "_meta": "jsonb",
    "_ok": "boolean",
    "_attempts": "integer",
}


def recordset(name: str, columns: Sequence[str]) -> str:
    """`json_to_recordset(:rows) AS v(...)`: the rows of one JSON document (`as_json`), typed as
    `name`'s columns (and the few extras below), for a set-based statement on PostgreSQL."""
    table = t.metadata.tables[name]
    dialect = postgresql.dialect()
    types = [_EXTRA_TYPES.get(c) or table.c[c].type.compile(dialect=dialect) for c in columns]
    spec = ", ".join(f"{c} {ty}" for c, ty in zip(columns, types, strict=True))
    # json, not jsonb: the server only scans the text for the fields, where jsonb would first
    # build (and key-sort) a binary copy of the whole document.
    return f"json_to_recordset(CAST(:rows AS json)) AS v({spec})"


def as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_naive_utc, separators=(",", ":"))


def _naive_utc(value: Any) -> str:
    # The store keeps naive UTC timestamps (see types.UTCDateTime).
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
