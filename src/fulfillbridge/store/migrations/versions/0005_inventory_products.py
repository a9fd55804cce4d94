"""inventory items per product

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_items",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=True),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_inventory_items_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "item_id", name=op.f("pk_inventory_items")),
    )
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inventory_items_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inventory_items_sku"), ["sku"], unique=False)
    # The SKU rows mapped so far become item rows without a product (unknown until the
    # next full mapping); a webhook about one of those items still finds it by its id.
    skus = sa.table(
        "inventory_skus",
        sa.column("store_id", sa.Integer()),
        sa.column("sku", sa.String()),
        sa.column("item_ids", sa.JSON()),
        sa.column("tracked", sa.Boolean()),
        sa.column("levels", sa.JSON()),
        sa.column("refreshed_at", sa.DateTime(timezone=True)),
    )
    items = sa.table(
        "inventory_items",
        sa.column("store_id", sa.Integer()),
        sa.column("item_id", sa.String()),
        sa.column("product_id", sa.String()),
        sa.column("sku", sa.String()),
        sa.column("tracked", sa.Boolean()),
        sa.column("levels", sa.JSON()),
        sa.column("refreshed_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = []
    for store_id, sku, item_ids, tracked, levels, refreshed_at in connection.execute(
        sa.select(
            skus.c.store_id,
            skus.c.sku,
            skus.c.item_ids,
            skus.c.tracked,
            skus.c.levels,
            skus.c.refreshed_at,
        )
    ):
        ids = list(item_ids or [])
        for item_id in ids:
            rows.append(
                {
                    "store_id": store_id,
                    "item_id": item_id,
                    "product_id": None,
                    "sku": sku,
                    "tracked": bool(tracked),
                    "levels": (levels or {}) if len(ids) == 1 else {},
                    "refreshed_at": refreshed_at,
                }
            )
    for start in range(0, len(rows), 1000):
        op.bulk_insert(items, rows[start : start + 1000])


def downgrade() -> None:
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_items_sku"))
        batch_op.drop_index(batch_op.f("ix_inventory_items_product_id"))
    op.drop_table("inventory_items")
