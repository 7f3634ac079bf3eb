"""Replicas share the advertisers: ``replicas`` (who runs, with a heartbeat) and ``shards`` (who polls which
advertisers: advertiser -> shard by a stable hash, each shard owned by at most one live replica, with an epoch that
grows on every change of owner). See monitor.store.shards.

The upgrade seeds the shards, unowned at epoch 0 (``SHARD_COUNT`` rows); nothing else to migrate. The downgrade
drops both tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
#: Fixed here (a migration never imports the code it migrates for): monitor.store.shards.SHARD_COUNT.
SHARD_COUNT = 64


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replicas"),
    )
    shards = op.create_table(
        "shards",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("shard", name="pk_shards"),
    )
    assert shards is not None
    op.bulk_insert(shards, [{"shard": n, "owner": None, "epoch": 0, "changed_at": None} for n in range(SHARD_COUNT)])


def downgrade() -> None:
    op.drop_table("shards")
    op.drop_table("replicas")
