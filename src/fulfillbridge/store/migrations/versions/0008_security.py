"""API keys scoped by store id, not by store name

A key scoped by name would see a different shop added later under the same name. The
scope becomes the stores' ids (``store_ids``) and a flag for every store (``all_stores``);
names are resolved to ids once here. A name that no longer names a store is dropped.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_keys = sa.table(
    "api_keys",
    sa.column("id", sa.Integer),
    sa.column("stores", sa.JSON),
    sa.column("store_ids", sa.JSON),
    sa.column("all_stores", sa.Boolean),
)
_stores = sa.table("stores", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("store_ids", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("all_stores", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    conn = op.get_bind()
    ids = {name: id_ for id_, name in conn.execute(sa.select(_stores.c.id, _stores.c.name))}
    for key_id, names in conn.execute(sa.select(_keys.c.id, _keys.c.stores)).all():
        names = list(names or [])
        every = "*" in names
        scope = [] if every else sorted(ids[n] for n in names if n in ids)
        conn.execute(
            _keys.update().where(_keys.c.id == key_id).values(store_ids=scope, all_stores=every)
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("store_ids", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("stores")


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("stores", sa.JSON(), nullable=True))
    conn = op.get_bind()
    names = {id_: name for id_, name in conn.execute(sa.select(_stores.c.id, _stores.c.name))}
    rows = conn.execute(sa.select(_keys.c.id, _keys.c.store_ids, _keys.c.all_stores)).all()
    for key_id, store_ids, every in rows:
        scope = ["*"] if every else [names[i] for i in store_ids or [] if i in names]
        conn.execute(_keys.update().where(_keys.c.id == key_id).values(stores=scope))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("stores", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("all_stores")
        batch.drop_column("store_ids")
