"""The migrations build exactly the schema tables.py declares, and the newest one goes both ways."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aftersales.store import migrate, partitions, tables
from aftersales.store.database import create_engine


def test_migrated_schema_is_the_declared_one(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": partitions.declared})
        assert compare_metadata(context, tables.metadata) == []


def _indexes(engine, table):
    return {ix["name"]: ix["column_names"] for ix in sa.inspect(engine).get_indexes(table)}


def test_listing_indexes_migrate_down_and_up(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    keyset = ["merchant_id", "status", "created_at", "id"]
    assert _indexes(engine, "after_sales")["ix_after_sales_merchant_id_status_created_at_id"] == keyset
    with engine.begin() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "ix_after_sales_merchant_id_status_created_at_id" not in _indexes(engine, "after_sales")
    assert _indexes(engine, "disputes")["ix_disputes_assignee"] == ["assignee"]
    migrate.upgrade(engine)
    assert _indexes(engine, "disputes")["ix_disputes_assignee_status_created_at_id"] == [
        "assignee",
        "status",
        "created_at",
        "id",
    ]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": partitions.declared})
        assert compare_metadata(context, tables.metadata) == []
    engine.dispose()
