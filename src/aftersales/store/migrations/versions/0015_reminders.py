"""reminders before a party's deadline

Revision ID: 0015
Revises: 0011

Each deadline keeps the reminder threshold it was last considered at (services/reminders.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_column("reminded_hours")
