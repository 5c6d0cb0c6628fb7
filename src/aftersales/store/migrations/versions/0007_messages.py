"""messages on a case and merchants' quick-reply templates

Revision ID: 0007
Revises: 0006

The negotiation record 协商记录 of a case (`case_messages`) and each shop's quick replies 话术
(`reply_templates`), whose numbered slots keep the cap per shop under concurrent creations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["after_sale_id"], ["after_sales.id"], name=op.f("fk_case_messages_after_sale_id_after_sales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_messages_after_sale_id_created_at_id"),
            ["after_sale_id", "created_at", "id"],
            unique=False,
        )
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
        sa.UniqueConstraint("merchant_id", "slot", name=op.f("uq_reply_templates_merchant_id_slot")),
    )
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reply_templates_merchant_id_created_at_id"),
            ["merchant_id", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_templates_merchant_id_created_at_id"))
    op.drop_table("reply_templates")
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_messages_after_sale_id_created_at_id"))
    op.drop_table("case_messages")
