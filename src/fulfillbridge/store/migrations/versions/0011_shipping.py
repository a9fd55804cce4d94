"""shipping: carrier accounts, labels bought per package, scans passed on as fulfillment
events, and when each shipment's carrier is asked next

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("account_number", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("sealed_credentials", sa.Text(), nullable=False),
        sa.Column("ship_from", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_carrier_accounts_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_carrier_accounts_name")),
    )
    op.create_index(
        op.f("ix_carrier_accounts_store_id"), "carrier_accounts", ["store_id"], unique=False
    )
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("tracking_status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("quiet_polls", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_shipments_next_poll_at"), "shipments", ["next_poll_at"], unique=False)
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("package_key", sa.String(length=128), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("company", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("parcel", sa.JSON(), nullable=False),
        sa.Column("label_format", sa.String(length=8), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("carrier_shipment_id", sa.String(length=64), nullable=True),
        sa.Column("label_data", sa.LargeBinary(), nullable=True),
        sa.Column("customs_form", sa.LargeBinary(), nullable=True),
        sa.Column("amount", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bought_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_labels_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carrier_accounts.id"],
            name=op.f("fk_labels_account_id_carrier_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_labels_shipment_id_shipments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("reference", name=op.f("uq_labels_reference")),
        sa.UniqueConstraint("work_order_id", "package_key", name=op.f("uq_labels_work_order_id")),
    )
    op.create_index(op.f("ix_labels_work_order_id"), "labels", ["work_order_id"], unique=False)
    op.create_index(op.f("ix_labels_shipment_id"), "labels", ["shipment_id"], unique=False)
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_tracking_events_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_tracking_events_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_events")),
        sa.UniqueConstraint(
            "shipment_id",
            "tracking_number",
            "status",
            "happened_at",
            name=op.f("uq_tracking_events_shipment_id"),
        ),
    )
    op.create_index(
        op.f("ix_tracking_events_shipment_id"), "tracking_events", ["shipment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tracking_events_shipment_id"), table_name="tracking_events")
    op.drop_table("tracking_events")
    op.drop_index(op.f("ix_labels_shipment_id"), table_name="labels")
    op.drop_index(op.f("ix_labels_work_order_id"), table_name="labels")
    op.drop_table("labels")
    op.drop_index(op.f("ix_shipments_next_poll_at"), table_name="shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("quiet_polls")
        batch.drop_column("next_poll_at")
        batch.drop_column("tracking_status")
    op.drop_index(op.f("ix_carrier_accounts_store_id"), table_name="carrier_accounts")
    op.drop_table("carrier_accounts")
