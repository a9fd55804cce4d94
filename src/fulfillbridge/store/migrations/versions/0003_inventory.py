"""inventory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=255), nullable=False),
        sa.Column("location_id", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=False),
        sa.Column("wanted", sa.Integer(), nullable=True),
        sa.Column("known", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_inventory_levels_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_levels")),
        sa.UniqueConstraint(
            "store_id", "item_id", "location_id", name=op.f("uq_inventory_levels_store_id")
        ),
    )
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inventory_levels_store_id"), ["store_id"], unique=False
        )

    op.create_table(
        "inventory_skus",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_inventory_skus_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "sku", name=op.f("pk_inventory_skus")),
    )
    op.create_table(
        "inventory_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_inventory_syncs_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_syncs")),
    )
    with op.batch_alter_table("inventory_syncs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inventory_syncs_store_id"), ["store_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inventory_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_syncs_store_id"))

    op.drop_table("inventory_syncs")
    op.drop_table("inventory_skus")
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_levels_store_id"))

    op.drop_table("inventory_levels")
