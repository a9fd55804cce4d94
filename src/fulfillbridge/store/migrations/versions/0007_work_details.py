"""work order details: what to make, how and by when, and who holds it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        # Notes, personalisation, delivery method, payment state (core.details.OrderDetails).
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("flags", sa.JSON(), nullable=True))
        # Who holds the work: the operation (through us), the merchant, or another app.
        batch.add_column(sa.Column("held_by", sa.String(length=255), nullable=True))
        # The deadline, as a column so work can be listed by it.
        batch.add_column(sa.Column("fulfill_by", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("deadline_notified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_work_orders_fulfill_by", ["fulfill_by"])


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_index("ix_work_orders_fulfill_by")
        for column in ("deadline_notified", "fulfill_by", "held_by", "flags", "details"):
            batch.drop_column(column)
