"""reviews

Revision ID: 0009
Revises: 0007

Reviews 评价 of completed orders (one per order: a unique order_id), the photos they show, and
a complaint's reference to the review it is about (an induced review 诱导好评).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("reply", sa.String(length=500), nullable=True),
        sa.Column("replied_by", sa.String(length=64), nullable=True),
        sa.Column("deadline_action", sa.String(length=40), nullable=True),
        sa.Column("deadline_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_reviews_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("order_id", name=op.f("uq_reviews_order_id")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reviews_merchant_id_created_at_id"), ["merchant_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reviews_buyer_id_created_at_id"), ["buyer_id", "created_at", "id"], unique=False
        )
    op.create_table(
        "review_photos",
        sa.Column("evidence_id", sa.String(length=40), nullable=False),
        sa.Column("review_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], name=op.f("fk_review_photos_evidence_id_evidence")),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_review_photos_review_id_reviews")),
        sa.PrimaryKeyConstraint("evidence_id", "review_id", name=op.f("pk_review_photos")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("review_id")
    op.drop_table("review_photos")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_buyer_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_reviews_merchant_id_created_at_id"))
    op.drop_table("reviews")
