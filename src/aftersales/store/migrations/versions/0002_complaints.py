"""complaints

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("complainant_role", sa.String(length=16), nullable=False),
        sa.Column("complainant_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=True),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("dispute_id", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("reply", sa.String(length=4000), nullable=True),
        sa.Column("solution", sa.String(length=4000), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=True),
        sa.Column("rationale", sa.String(length=4000), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("review_breached", sa.Boolean(), nullable=False),
        sa.Column("deadline_action", sa.String(length=40), nullable=True),
        sa.Column("deadline_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_merchant_id_created_at_id"), ["merchant_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaints_status_created_at_id"), ["status", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_merchant_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_buyer_id"))

    op.drop_table("complaints")
