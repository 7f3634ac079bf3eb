"""The actions' circuit breaker: one row per opening (``breaker_episodes``), and the journal indexed by time.

The breaker counts the journal's real writes of the last ``window`` across every advertiser, so ``actions`` gets an
index on ``created_at``. Nothing to migrate: until now the limit was counted per poll, in memory.

Revision ID: 0006
Revises: 0004 (to be re-chained after 0005 when the branches merge)
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "breaker_episodes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held", sa.Text(), nullable=False),
        sa.Column("held_count", sa.Integer(), nullable=False),
        sa.Column("told_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("closed_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_breaker_episodes"),
    )
    op.create_index("ix_actions_created_at", "actions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_actions_created_at", table_name="actions")
    op.drop_table("breaker_episodes")
