"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aftersales.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("due_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("armed_version", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint("subject_kind", "subject_id", name=op.f("uq_deadlines_subject_kind_subject_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadlines_due_at"), ["due_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("deadline_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("deadline_id", name=op.f("uq_events_deadline_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_subject_kind_subject_id_id"), ["subject_kind", "subject_id", "id"], unique=False
        )

    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("uploader_id", sa.String(length=64), nullable=False),
        sa.Column("uploader_role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=160), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("shipping_fee", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("goods_total", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("open_case_id", sa.String(length=40), nullable=True),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("paid_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("shipped_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("completed_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("deadline_action", sa.String(length=40), nullable=True),
        sa.Column("deadline_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=True),
        sa.Column("dispute_id", sa.String(length=40), nullable=True),
        sa.Column("direction", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cause", sa.String(length=500), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
    )
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlements_after_sale_id"), ["after_sale_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlements_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "sim_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("now", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_clock")),
    )
    op.create_table(
        "violations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=500), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("after_sale_id", sa.String(length=40), nullable=True),
        sa.Column("dispute_id", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("revoked_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
    )
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_violations_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "after_sales",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("deadline_action", sa.String(length=40), nullable=True),
        sa.Column("deadline_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("return_address", sa.String(length=500), nullable=True),
        sa.Column("return_carrier", sa.String(length=64), nullable=True),
        sa.Column("return_tracking", sa.String(length=64), nullable=True),
        sa.Column("exchange_carrier", sa.String(length=64), nullable=True),
        sa.Column("exchange_tracking", sa.String(length=64), nullable=True),
        sa.Column("reject_reason", sa.String(length=64), nullable=True),
        sa.Column("reject_note", sa.String(length=2000), nullable=True),
        sa.Column("dispute_id", sa.String(length=40), nullable=True),
        sa.Column("closed_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_after_sales_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales")),
    )
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_after_sales_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_after_sales_merchant_id_created_at_id"), ["merchant_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_after_sales_merchant_id_status_deadline_due_at_id"),
            ["merchant_id", "status", "deadline_due_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_after_sales_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_after_sales_status_created_at_id"), ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=True),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("completed_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_after_sale_id"), ["after_sale_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)

    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("opened_by", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("statements", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("ruling_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("deadline_action", sa.String(length=40), nullable=True),
        sa.Column("deadline_due_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("sla_breached", sa.Boolean(), nullable=False),
        sa.Column("evidence_due", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("liable_party", sa.String(length=16), nullable=True),
        sa.Column("rationale", sa.String(length=4000), nullable=True),
        sa.Column("ruled_by", sa.String(length=64), nullable=True),
        sa.Column("ruled_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["after_sale_id"], ["after_sales.id"], name=op.f("fk_disputes_after_sale_id_after_sales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_after_sale_id"), ["after_sale_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disputes_status_created_at_id"), ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disputes_status_ruling_due_at_id"), ["status", "ruling_due_at", "id"], unique=False
        )

    op.create_table(
        "evidence_links",
        sa.Column("evidence_id", sa.String(length=40), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["after_sale_id"], ["after_sales.id"], name=op.f("fk_evidence_links_after_sale_id_after_sales")
        ),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], name=op.f("fk_evidence_links_evidence_id_evidence")),
        sa.PrimaryKeyConstraint("evidence_id", "after_sale_id", name=op.f("pk_evidence_links")),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dispute_id", sa.String(length=40), nullable=False),
        sa.Column("after_sale_id", sa.String(length=40), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("appellant_role", sa.String(length=16), nullable=False),
        sa.Column("appellant_id", sa.String(length=64), nullable=False),
        sa.Column("grounds", sa.String(length=4000), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("rationale", sa.String(length=4000), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", aftersales.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_appeals_dispute_id_disputes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "dispute_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dispute_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("created_at", aftersales.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_notes_dispute_id_disputes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_notes")),
    )
    with op.batch_alter_table("dispute_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_notes_dispute_id"), ["dispute_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_notes_dispute_id"))

    op.drop_table("dispute_notes")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_dispute_id"))

    op.drop_table("appeals")
    op.drop_table("evidence_links")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_status_ruling_due_at_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_assignee"))
        batch_op.drop_index(batch_op.f("ix_disputes_after_sale_id"))

    op.drop_table("disputes")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_after_sale_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("after_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_after_sales_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_after_sales_order_id"))
        batch_op.drop_index(batch_op.f("ix_after_sales_merchant_id_status_deadline_due_at_id"))
        batch_op.drop_index(batch_op.f("ix_after_sales_merchant_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_after_sales_buyer_id"))

    op.drop_table("after_sales")
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_violations_merchant_id"))

    op.drop_table("violations")
    op.drop_table("sim_clock")
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlements_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_settlements_after_sale_id"))

    op.drop_table("settlements")
    op.drop_table("outbox")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_orders_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_orders_buyer_id"))

    op.drop_table("orders")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("evidence")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_subject_kind_subject_id_id"))

    op.drop_table("events")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadlines_due_at"))

    op.drop_table("deadlines")
    op.drop_table("agents")
