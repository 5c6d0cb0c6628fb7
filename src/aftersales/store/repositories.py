"""Repositories: domain dataclasses in and out of their tables, with compare-and-set saves."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..domain.errors import VersionConflict
from . import bulk
from . import tables as t

T = TypeVar("T")


class Repo(Generic[T]):
    def __init__(self, conn: sa.Connection, table: sa.Table, cls: type[T]) -> None:
        self.conn, self.table, self.cls = conn, table, cls
        self._fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    def load(self, row: Any) -> T:
        m = row._mapping
        return self.cls(**{f: m[f] for f in self._fields})

    def get(self, id: str) -> T | None:
        row = self.conn.execute(_by_id(self.table), {"_id": id}).first()
        return self.load(row) if row else None

    def version_of(self, id: str) -> int | None:
        """The row's version as committed now (None if it is gone), for telling a stale read."""
        return self.conn.execute(_version_by_id(self.table), {"_id": id}).scalar()

    def insert(self, obj: T) -> None:
        self.conn.execute(self.table.insert(), self._values(obj))

    def save(self, obj: Any, expected_version: int) -> None:
        """Compare-and-set: write only if nobody moved the row since we read it."""
        values = self._values(obj)
        values.update(_id=values.pop("id"), _expected=expected_version, version=expected_version + 1)
        result = self.conn.execute(bulk.cas_update(self.table, tuple(f for f in self._fields if f != "id")), values)
        if result.rowcount != 1:
            raise VersionConflict(f"{self.table.name} {obj.id} was changed by someone else")
        obj.version = expected_version + 1

    def save_many(self, pairs: list[tuple[Any, int]], fields: Iterable[str]) -> None:
        """`save` for many rows in one statement, writing `fields`; all of them, or VersionConflict."""
        names = sorted(set(fields) - {"id", "version"})
        rows = [
            {"id": obj.id, **{f: getattr(obj, f) for f in names}, "_expected": expected, "version": expected + 1}
            for obj, expected in pairs
        ]
        if bulk.update_where_version(self.conn, self.table, rows) != len(rows):
            raise VersionConflict(f"this {self.table.name} row was changed by someone else")
        for obj, expected in pairs:
            obj.version = expected + 1

    def find(self, *where: Any, order_by: Iterable[Any] = (), limit: int | None = None) -> list[T]:
        query = sa.select(self.table).where(*where).order_by(*order_by)
        if limit is not None:
            query = query.limit(limit)
        # (all rows fetched at once: the driver builds them in one call, not a call per row)
        return [self.load(r) for r in self.conn.execute(query).all()]

    def _values(self, obj: Any) -> dict[str, Any]:
        return {f: getattr(obj, f) for f in self._fields}


class Deadlines:
    """Arming writes the row in the caller's transaction; at most one per subject."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def arm(self, kind: str, subject_id: str, action: str, due_at: datetime, version: int, now: datetime) -> None:
        row = _deadline(kind, subject_id, action, due_at, version, now)
        if self.conn.dialect.name != "postgresql":  # (in-process: two statements cost nothing more)
            self.disarm(kind, subject_id)
            self.conn.execute(t.deadlines.insert(), row)
            return
        self.conn.execute(_arm_upsert(), row)

    def insert_many(self, kind: str, subjects: list[Any], now: datetime) -> None:
        """Arm the next deadline of subjects whose current one was consumed (none left to disarm)."""
        if subjects:
            bulk.insert(
                self.conn,
                t.deadlines,
                [_deadline(kind, s.id, s.deadline_action, s.deadline_due_at, s.version, now) for s in subjects],
            )

    def disarm(self, kind: str, subject_id: str) -> None:
        self.conn.execute(_DISARM, {"_kind": kind, "_id": subject_id})

    def pending(self, kind: str, subject_id: str) -> Any:
        d = t.deadlines.c
        return self.conn.execute(
            sa.select(t.deadlines).where(d.subject_kind == kind, d.subject_id == subject_id)
        ).first()


class Events:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def record(self, *, meta: dict[str, Any] | None = None, **event: Any) -> int:
        """Append one event and its outbox message; the event's id. See `_row` for the fields;
        `meta` is what the message carries besides the event (the shop, the policy, the next
        deadline: `services/transitions.py` `meta`), kept out of the events table."""
        row = _row(**event)
        if self.conn.dialect.name == "postgresql":
            return bulk.insert_events(self.conn, [row], [_topic(row, event.get("topic"))], [meta or {}])[0]
        event_id = self.conn.execute(t.events.insert().values(**row).returning(t.events.c.id)).scalar_one()
        # Transactional outbox: webhooks and streams deliver from here, after commit.
        self.conn.execute(t.outbox.insert().values(**_outbox(row, event_id, event.get("topic"), meta)))
        return event_id

    def record_many(self, events: list[dict[str, Any]]) -> None:
        """`record` for many, in one statement on PostgreSQL (SQLite has no round trips to save)."""
        if self.conn.dialect.name != "postgresql":
            for event in events:
                self.record(**event)
            return
        rows = [_row(**{k: v for k, v in e.items() if k != "meta"}) for e in events]
        bulk.insert_events(
            self.conn,
            rows,
            [_topic(r, e.get("topic")) for r, e in zip(rows, events, strict=True)],
            [e.get("meta") or {} for e in events],
        )

    def for_subject(self, kind: str, subject_id: str) -> list[Any]:
        e = t.events.c
        return list(
            self.conn.execute(
                sa.select(t.events).where(e.subject_kind == kind, e.subject_id == subject_id).order_by(e.id)
            )
        )


# Statements built once: SQLAlchemy keys its cache of compiled statements by each statement's
# structure, which it computes once per statement object; built per call, every call pays for
# building the statement and its key (a third of an action's Python time, by profile).
@cache
def _by_id(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table).where(table.c.id == sa.bindparam("_id"))


@cache
def _version_by_id(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table.c.version).where(table.c.id == sa.bindparam("_id"))


_DISARM = t.deadlines.delete().where(
    t.deadlines.c.subject_kind == sa.bindparam("_kind"), t.deadlines.c.subject_id == sa.bindparam("_id")
)


@cache
def _arm_upsert() -> Any:
    """PostgreSQL: arm a subject's deadline in one round trip, replacing the one it had. A re-armed
    deadline takes the fresh id its insert drew: a deadline id names one arming, and an event's
    deadline_id must never match a later one."""
    stmt = postgresql.insert(t.deadlines)
    return stmt.on_conflict_do_update(
        index_elements=["subject_kind", "subject_id"],
        set_={
            **{c: stmt.excluded[c] for c in ("id", "action", "due_at", "armed_version", "created_at")},
            "reminded_hours": None,  # a new arming is reminded anew
        },
    )


def _deadline(kind: str, subject_id: str, action: str, due_at: datetime, version: int, now: datetime) -> dict[str, Any]:
    return dict(
        subject_kind=kind, subject_id=subject_id, action=action, due_at=due_at, armed_version=version, created_at=now
    )


def _row(
    *,
    kind: str,
    subject_id: str,
    action: str,
    actor_role: str,
    actor_id: str,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    data: dict[str, Any] | None = None,
    deadline_id: int | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    return dict(
        subject_kind=kind,
        subject_id=subject_id,
        action=action,
        actor_role=actor_role,
        actor_id=actor_id,
        at=at,
        before=before,
        after=after,
        data=data or {},
        deadline_id=deadline_id,
    )


def _outbox(row: dict[str, Any], event_id: int, topic: str | None, meta: dict[str, Any] | None) -> dict[str, Any]:
    """The outbox message of an event: its payload is the event and its `meta` (bulk.insert_events
    builds the same)."""
    payload = {**row, "at": row["at"].isoformat(), "id": event_id, **(meta or {})}
    return dict(event_id=event_id, topic=_topic(row, topic), payload=payload, created_at=row["at"])


def _topic(row: dict[str, Any], topic: str | None) -> str:
    return topic or f"{row['subject_kind']}.{row['action']}"
