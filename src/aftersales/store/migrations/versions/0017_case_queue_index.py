"""case queue index: a merchant's after-sales by urgency

Revision ID: 0017
Revises: 0016

The console's merchant queue (services/reads.py case_queue) lists a shop's cases by their pending
deadline, soonest first, then those without one, paged by (deadline_due_at, id). This index serves
both walks from the shop's own entries, without sorting its cases.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_after_sales_merchant_id_deadline_due_at_id"),
            ["merchant_id", "deadline_due_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_merchant_id_deadline_due_at_id"))
