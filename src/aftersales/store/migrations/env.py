"""Alembic environment: runs on the connection `aftersales db upgrade` hands it."""

from __future__ import annotations

from alembic import context

from aftersales.store.partitions import declared
from aftersales.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `aftersales db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, include_object=declared)
with context.begin_transaction():
    context.run_migrations()
