"""refunds through a payment provider

Revision ID: 0014
Revises: 0013

A refund is submitted to a payment provider after the transaction that decided it: the refund
keeps the provider's reference, its tries, when the submitter looks at it next, when it turns
late and whether it did. The simulated provider keeps its own books (provider_refunds, keyed by
our refund id, its idempotency key) and its switchable fault (provider_faults). Refunds recorded
before this revision keep their status `succeeded`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_faults",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("fault", sa.String(length=32), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_faults")),
    )
    op.create_table(
        "provider_refunds",
        sa.Column("refund_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("confirms_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_provider_refunds")),
        sa.UniqueConstraint("reference", name=op.f("uq_provider_refunds_reference")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", aftersales.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirm_by", aftersales.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_refunds_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_next_attempt_at"))
        for column in ("last_error", "late", "confirm_by", "next_attempt_at", "attempts", "provider_ref", "provider"):
            batch_op.drop_column(column)
    op.drop_table("provider_refunds")
    op.drop_table("provider_faults")
