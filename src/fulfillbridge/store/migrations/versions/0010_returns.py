"""return work: returns customers send back to the operation, and their history

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=False),
        sa.Column("order_remote_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        # core.returns.ReturnLine per line: expected, received by condition, disposed by kind.
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("tracking", sa.JSON(), nullable=False),
        sa.Column("decline_reason", sa.String(length=64), nullable=True),
        sa.Column("decline_note", sa.Text(), nullable=True),
        sa.Column("exchange_items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_return_work_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_work")),
        sa.UniqueConstraint("store_id", "remote_id", name=op.f("uq_return_work_store_id")),
    )
    op.create_index("ix_return_work_store_id", "return_work", ["store_id"])
    op.create_index("ix_return_work_state", "return_work", ["state"])
    op.create_index("ix_return_work_order_remote_id", "return_work", ["order_remote_id"])
    op.create_table(
        "return_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_work.id"],
            name=op.f("fk_return_transitions_return_id_return_work"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_transitions")),
    )
    op.create_index("ix_return_transitions_return_id", "return_transitions", ["return_id"])


def downgrade() -> None:
    op.drop_index("ix_return_transitions_return_id", table_name="return_transitions")
    op.drop_table("return_transitions")
    for index in (
        "ix_return_work_order_remote_id",
        "ix_return_work_state",
        "ix_return_work_store_id",
    ):
        op.drop_index(index, table_name="return_work")
    op.drop_table("return_work")
