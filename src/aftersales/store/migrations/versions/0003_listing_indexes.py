"""listing indexes: the keyset orders the API pages by

Revision ID: 0003
Revises: 0002

A merchant's queue filtered by status and an agent's own disputes are listed by (created_at, id),
like every collection (services/pages.py). The indexes they had led with the right columns but
then ordered by something else, so a big shop's page sorted every case of that status first
(bench/scale.py: tens of thousands of rows per page at millions of cases). The new ones serve
the page straight from the index; the agent one also counts an agent's live load.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_merchant_id_status_deadline_due_at_id"))
        batch_op.create_index(
            batch_op.f("ix_after_sales_merchant_id_status_created_at_id"),
            ["merchant_id", "status", "created_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_assignee"))
        batch_op.create_index(
            batch_op.f("ix_disputes_assignee_status_created_at_id"),
            ["assignee", "status", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_assignee_status_created_at_id"))
        batch_op.create_index(batch_op.f("ix_disputes_assignee"), ["assignee"], unique=False)
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_merchant_id_status_created_at_id"))
        batch_op.create_index(
            batch_op.f("ix_after_sales_merchant_id_status_deadline_due_at_id"),
            ["merchant_id", "status", "deadline_due_at", "id"],
            unique=False,
        )
