"""parties: merchant and buyer profiles, and the book address a case's return goes to

Revision ID: 0006
Revises: 0005

A merchant has a name, a time zone and a return-address book (a JSON list); a buyer a display
name. An approved return records which entry of the book it sends the goods to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("return_addresses", sa.JSON(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
    )
    op.create_table(
        "buyers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
    )
    # (A nullable column: SQLite adds it in place, no table rebuild.)
    op.add_column("after_sales", sa.Column("return_address_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_column("return_address_id")
    op.drop_table("buyers")
    op.drop_table("merchants")
