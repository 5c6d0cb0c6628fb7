"""evidence storage: the stripped copy and the thumbnail of an image

Revision ID: 0013
Revises: 0012

Evidence bytes sit behind a Storage (local files or an S3-compatible bucket), each object under its
SHA-256. An image also has a copy for the other party, EXIF and location stripped, and a
thumbnail, each under its own hash. The sweeper asks which hashes rows reference: indexed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripped_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_stripped_sha256"), ["stripped_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_thumbnail_sha256"), ["thumbnail_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_thumbnail_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_stripped_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))
        batch_op.drop_column("thumbnail_sha256")
        batch_op.drop_column("stripped_sha256")
