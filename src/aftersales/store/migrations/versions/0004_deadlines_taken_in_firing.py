"""deadlines are taken in the transaction that fires them

Revision ID: 0004
Revises: 0003

Workers no longer claim rows in a transaction of their own with a lease written on the row: they
delete a batch in the transaction that fires it (worker/engine.py), so claimed_by and
lease_until are gone. The due index takes the id too, the tie-break of the oldest-first order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# SQLite rebuilds the table: keep AUTOINCREMENT, or a fired deadline's id comes back for the next
# one armed and its firing collides with the first one's event (events.deadline_id is unique).
_KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None, table_kwargs=_KEEP) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadlines_due_at"))
        batch_op.create_index(batch_op.f("ix_deadlines_due_at_id"), ["due_at", "id"], unique=False)
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None, table_kwargs=_KEEP) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_deadlines_due_at_id"))
        batch_op.create_index(batch_op.f("ix_deadlines_due_at"), ["due_at"], unique=False)
