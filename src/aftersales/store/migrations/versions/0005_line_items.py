"""line items: an order's units and discount, a case's items; reported price drops

Revision ID: 0005
Revises: 0004

An order keeps its units per line (domain/lines.py) instead of the one open request it allowed:
`open_case_id` becomes the holder of every unit, so an order with an open request keeps it on
all its units. Orders before this had no discount, so each unit was paid its unit price; an order
refunded in full has its units done. Each existing case is about every item of its order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from aftersales.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_orders = sa.table(
    "orders",
    sa.column("id", sa.String),
    sa.column("items", sa.JSON),
    sa.column("goods_total", sa.BigInteger),
    sa.column("refunded_amount", sa.BigInteger),
    sa.column("open_case_id", sa.String),
    sa.column("units", sa.JSON),
)
_cases = sa.table(
    "after_sales", sa.column("id", sa.String), sa.column("order_id", sa.String), sa.column("items", sa.JSON)
)


def _units(items: list[dict[str, Any]], holder: str | None, done: bool) -> dict[str, Any]:
    return {
        str(i["sku"]): [
            {
                "n": int(i["quantity"]),
                "paid": int(i["unit_price"]),
                "refunded": int(i["unit_price"]) if done else 0,
                "case": None if done else holder,
                "done": done,
            }
        ]
        for i in items
    }


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("discount", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("units", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("after_sales") as batch_op:
        batch_op.add_column(sa.Column("items", sa.JSON(), nullable=False, server_default="[]"))
    conn = op.get_bind()
    items_of: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(sa.select(_orders)).all():
        items_of[row.id] = row.items
        done = row.goods_total > 0 and row.refunded_amount >= row.goods_total
        units = _units(row.items, row.open_case_id, done)
        conn.execute(_orders.update().where(_orders.c.id == row.id).values(units=units))
    for row in conn.execute(sa.select(_cases.c.id, _cases.c.order_id)).all():
        claimed = [{k: i[k] for k in ("sku", "title", "quantity", "unit_price")} for i in items_of[row.order_id]]
        conn.execute(_cases.update().where(_cases.c.id == row.id).values(items=claimed))
    with op.batch_alter_table("orders") as batch_op:
        batch_op.alter_column("discount", server_default=None)
        batch_op.alter_column("units", server_default=None)
        batch_op.drop_column("open_case_id")
    with op.batch_alter_table("after_sales") as batch_op:
        batch_op.alter_column("items", server_default=None)
    op.create_table(
        "price_drops",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_drops")),
    )
    op.create_index(
        op.f("ix_price_drops_merchant_id_sku_created_at"), "price_drops", ["merchant_id", "sku", "created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_price_drops_merchant_id_sku_created_at"), table_name="price_drops")
    op.drop_table("price_drops")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("open_case_id", sa.String(length=40), nullable=True))
    conn = op.get_bind()
    for row in conn.execute(sa.select(_orders.c.id, _orders.c.units)).all():
        holders = sorted({lot["case"] for lots in row.units.values() for lot in lots if lot["case"]})
        conn.execute(_orders.update().where(_orders.c.id == row.id).values(open_case_id=(holders or [None])[0]))
    with op.batch_alter_table("after_sales") as batch_op:
        batch_op.drop_column("items")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("units")
        batch_op.drop_column("discount")
