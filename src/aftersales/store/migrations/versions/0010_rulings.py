"""rulings: return_refund, shared fault and the creator's liability

Revision ID: 0010
Revises: 0009

An order may name the live-stream host 达人 it was sold through (orders.creator_id); a case ruled
return_refund keeps the refund it is owed once the goods are back (after_sales.ruled_amount); a
settlement says who finally bears its amount (bearer, and the creator's id when a creator does).
Existing settlements get the bearer their direction implied: the party that pays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("creator_id", sa.String(length=64), nullable=True))
    op.add_column("after_sales", sa.Column("ruled_amount", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bearer", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("creator_id", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE settlements SET bearer = CASE direction WHEN 'merchant_to_platform' THEN 'merchant' ELSE 'platform' END"
    )
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.alter_column("bearer", existing_type=sa.String(length=16), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("creator_id")
        batch_op.drop_column("bearer")
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_column("ruled_amount")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("creator_id")
