"""events and outbox partitioned by month on PostgreSQL (SQLite keeps plain tables)

Revision ID: 0020
Revises: 0018

Each table is rebuilt as a RANGE-partitioned one, a partition per month its rows span and a
default partition (the worker creates the months ahead), its rows copied over in this transaction (the old table is locked meanwhile:
on a large history, run it in a maintenance window). The id sequence is kept, so ids continue.
A partitioned table's primary key must hold its partition key: (id, at) and (id, created_at);
ids still come from one sequence, so each stays unique. events.deadline_id is unique per
partition (store/partitions.py says why). See docs/partitions.md.
"""

from __future__ import annotations

from alembic import op

from aftersales.store import partitions

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

# table -> (its constraints as tables.py names them, its other indexes)
SHAPES = {
    "events": (
        ["CONSTRAINT uq_events_deadline_id UNIQUE (deadline_id)"],
        ["ix_events_subject_kind_subject_id_id ON {t} (subject_kind, subject_id, id)"],
    ),
    "outbox": (
        [],
        ["ix_outbox_delivered_at_id ON {t} (delivered_at, id)", "ix_outbox_streamed_at_id ON {t} (streamed_at, id)"],
    ),
}


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    for table, key in partitions.KEYS.items():
        old = _set_aside(table)
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({key})")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {key})")
        for index in SHAPES[table][1]:
            op.execute(f"CREATE INDEX {index.format(t=table)}")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        partitions.unique_per_partition(conn, table, f"{table}_default")
        # Only the months that hold rows: one stray far-future row must not make a thousand.
        months = conn.exec_driver_sql(f"SELECT DISTINCT date_trunc('month', {key}) FROM {old}").scalars()
        for month in list(months):
            partitions.create_month(conn, table, month)
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        _take_over(table, old)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in partitions.KEYS:
        old = _set_aside(table)
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        constraints, indexes = SHAPES[table]
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        for constraint in constraints:
            op.execute(f"ALTER TABLE {table} ADD {constraint}")
        for index in indexes:
            op.execute(f"CREATE INDEX {index.format(t=table)}")
        _take_over(table, old)


def _set_aside(table: str) -> str:
    """Rename `table` out of the way, its id sequence freed from it and its index names freed for
    the new table (its indexes are dropped: it is only read once more, whole); the new name."""
    old = f"{table}_before_0020"
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} DROP CONSTRAINT pk_{table}")
    constraints, indexes = SHAPES[table]
    for constraint in constraints:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT IF EXISTS {constraint.split()[1]}")
    for index in indexes:
        op.execute(f"DROP INDEX IF EXISTS {index.split()[0]}")
    return old


def _take_over(table: str, old: str) -> None:
    """Drop the old table (CASCADE: a partitioned one takes its partitions; archived ones, already
    detached, stay) and give the id sequence to the new one."""
    op.execute(f"DROP TABLE {old} CASCADE")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
