"""listing indexes: every case newest first, and a buyer's cases and orders newest first

Revision ID: 0018
Revises: 0017

The platform's unfiltered case list and a buyer's lists (the console's home pages) page by
(created_at, id); without these PostgreSQL read and sorted the whole table for each page
(bench/console.py at 100 000 cases).
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NEW = [
    ("after_sales", ["created_at", "id"]),
    ("after_sales", ["buyer_id", "created_at", "id"]),
    ("orders", ["buyer_id", "created_at", "id"]),
]


def upgrade() -> None:
    for table, columns in NEW:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_{'_'.join(columns)}"), columns, unique=False)


def downgrade() -> None:
    for table, columns in reversed(NEW):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{'_'.join(columns)}"))
