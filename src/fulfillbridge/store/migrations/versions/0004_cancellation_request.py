"""cancellation request answered

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Which merchant cancellation request the bridge answered last: a new request (a new
    # id) is answered again, a repeat of the news about the same one is not.
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("answered_cancellation", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("answered_cancellation")
