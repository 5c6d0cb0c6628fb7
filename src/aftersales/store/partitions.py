"""Monthly partitions of `events` and `outbox` on PostgreSQL: created ahead, and past a retention
archived (events) or dropped (delivered outbox). SQLite keeps plain tables; nothing here runs there.

Each table is partitioned by RANGE on its timestamp (events.at, outbox.created_at, which is its
event's `at`) into `<table>_pYYYY_MM`, with `<table>_default` catching any month not created yet,
so an insert never fails for its date. `maintain` (the deadline worker's housekeeping, with the
runtime's clock) keeps the current month and the next `AHEAD` created; a month that already has
rows in the default partition gets them moved into its own partition as it is created.
See docs/partitions.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

log = logging.getLogger("aftersales.partitions")

# The tables partitioning adds beside tables.py's: months, defaults, archives.
PARTITION_NAME = re.compile(r"(events|outbox)_(p\d{4}_\d{2}|default|archive_\d{4}_\d{2})")
AHEAD = 2  # months created beyond the current one
# table -> its partition key
KEYS = {"events": "at", "outbox": "created_at"}
# One maintainer at a time across workers (an arbitrary constant, as the relay's locks are);
# the others skip their turn.
LOCK = 0x61667470  # "aftp"
LOCK_TIMEOUT = "5s"  # DDL waits at most this for its lock: writers queued behind it would stall


@dataclass(frozen=True)
class Retention:
    """Months kept (None: forever). Older event partitions are detached and renamed
    `events_archive_YYYY_MM` (still queryable, for pg_dump); older outbox partitions are
    dropped, each only once every row in it was delivered."""

    events_months: int | None = None
    outbox_months: int | None = None
    streamed: bool = False  # a stream is configured: a row counts as delivered once streamed too


@dataclass
class Maintained:
    created: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # past retention but with undelivered messages


def month_of(at: datetime) -> datetime:
    """The first instant of `at`'s month, naive UTC (the store's timestamps, store/types.py)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return month.replace(year=index // 12, month=index % 12 + 1)


def name_of(table: str, month: datetime) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def is_partitioned(conn: sa.Connection, table: str) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t))"),
            {"t": table},
        ).scalar()
    )


def months_held(conn: sa.Connection, table: str) -> list[datetime]:
    """The months `table` has a partition of, oldest first (the default partition aside)."""
    prefix = f"{table}_p"
    names = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    ).scalars()
    return sorted(
        datetime(int(n[len(prefix) : len(prefix) + 4]), int(n[-2:]), 1) for n in names if n.startswith(prefix)
    )


def create_month(conn: sa.Connection, table: str, month: datetime) -> bool:
    """Give `month` its partition of `table` unless it has one; whether it was created.

    Built beside the table, filled with the month's rows from the default partition, then
    attached: attaching checks the default holds none of the month any more (creating it as a
    partition outright would fail if the default held some) and builds the table's indexes."""
    name, key = name_of(table, month), KEYS[table]
    if conn.execute(sa.text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
        return False
    bounds = {"lo": month, "hi": add_months(month, 1)}
    conn.execute(sa.text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    conn.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM {table}_default WHERE {key} >= :lo AND {key} < :hi RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    lo, hi = (f"'{b.isoformat(sep=' ')}'" for b in (bounds["lo"], bounds["hi"]))
    conn.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"))
    unique_per_partition(conn, table, name)
    return True


def unique_per_partition(conn: sa.Connection, table: str, partition: str) -> None:
    """An event's deadline_id is unique in its partition. A unique index on the partitioned table
    would have to include `at`, and two firings of one deadline happen at different times, so it
    would catch nothing; a firing deletes its deadline row in its own transaction (worker/engine.py),
    so a second firing could only overlap the first, within its lease: in the same month, and
    caught here, but for one that straddles a month's end."""
    if table == "events":
        conn.execute(sa.text(f"CREATE UNIQUE INDEX IF NOT EXISTS {partition}_deadline_id ON {partition} (deadline_id)"))


def declared(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object: what comparing the database with tables.py looks at. Partitions
    are not declared there, and on PostgreSQL events.deadline_id is unique per partition instead
    of by the constraint tables.py declares (SQLite's)."""
    if type_ == "table" and name is not None and PARTITION_NAME.fullmatch(name):
        return False
    return not (type_ == "unique_constraint" and name == "uq_events_deadline_id" and compare_to is None)


def maintain(conn: sa.Connection, now: datetime, retention: Retention = Retention()) -> Maintained:
    """Create this month's and the next AHEAD months' partitions, then apply `retention`, in the
    caller's transaction; what was done. Idempotent; a no-op on SQLite and on plain tables."""
    done = Maintained()
    if conn.dialect.name != "postgresql" or not is_partitioned(conn, "events"):
        return done
    if not conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK))).scalar():
        return done  # another worker is at it: a starting worker must not wait behind it
    conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    current = month_of(now)
    for table in KEYS:
        for n in range(AHEAD + 1):
            month = add_months(current, n)
            if create_month(conn, table, month):
                done.created.append(name_of(table, month))
    if retention.events_months is not None:
        _archive_events(conn, add_months(current, -retention.events_months), retention, done)
    if retention.outbox_months is not None:
        _drop_outbox(conn, add_months(current, -retention.outbox_months), retention, done)
    return done


def _archive_events(conn: sa.Connection, before: datetime, retention: Retention, done: Maintained) -> None:
    """Detach every event partition of a month before `before` whose outbox messages were all
    delivered, and rename it events_archive_YYYY_MM."""

    def archive(name: str, month: datetime) -> None:
        conn.execute(sa.text(f"ALTER TABLE events DETACH PARTITION {name}"))
        archived = f"events_archive_{month.year:04d}_{month.month:02d}"
        conn.execute(sa.text(f"ALTER TABLE {name} RENAME TO {archived}"))
        done.archived.append(archived)

    _retire(conn, "events", before, retention, done, archive)


def _drop_outbox(conn: sa.Connection, before: datetime, retention: Retention, done: Maintained) -> None:
    def drop(name: str, _month: datetime) -> None:
        conn.execute(sa.text(f"DROP TABLE {name}"))
        done.dropped.append(name)

    _retire(conn, "outbox", before, retention, done, drop)


def _retire(
    conn: sa.Connection,
    table: str,
    before: datetime,
    retention: Retention,
    done: Maintained,
    retire: Callable[[str, datetime], None],
) -> None:
    """`retire` each partition of `table` for a month before `before`, keeping those whose month
    still has outbox messages not delivered."""
    for month in months_held(conn, table):
        if month >= before:
            break
        name = name_of(table, month)
        if _undelivered(conn, month, retention):
            done.kept.append(name)
            continue
        retire(name, month)


def _undelivered(conn: sa.Connection, month: datetime, retention: Retention) -> bool:
    """Whether an outbox message of `month` still waits for the relay (its webhook fan-out, or the
    stream when one is configured). Read through the parent, so the default partition counts too."""
    pending = "delivered_at IS NULL" + (" OR streamed_at IS NULL" if retention.streamed else "")
    return bool(
        conn.execute(
            sa.text(
                f"SELECT EXISTS (SELECT 1 FROM outbox WHERE created_at >= :lo AND created_at < :hi AND ({pending}))"
            ),
            {"lo": month, "hi": add_months(month, 1)},
        ).scalar()
    )


def log_maintained(done: Maintained) -> None:
    for verb, names in (("created", done.created), ("archived", done.archived), ("dropped", done.dropped)):
        if names:
            log.info("partitions %s: %s", verb, ", ".join(names))
    if done.kept:
        log.warning("partitions past retention kept, messages undelivered: %s", ", ".join(done.kept))
