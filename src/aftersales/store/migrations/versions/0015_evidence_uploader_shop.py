"""evidence: the uploader's shop

Revision ID: 0015
Revises: 0014

Staff logins are unique within a shop only: the uploader of a file is its role, login and shop.
Files stored before are left without a shop; a merchant's reaches its shop through the cases
citing it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uploader_merchant_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("uploader_merchant_id")
