"""Operational problems are remembered in the database, so "told once" survives restarts and a cron'd ``once``.

One row per (kind, subject) (see ``OpsStateRow``); nothing to migrate: until now the states lived in memory.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ops_states",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("last_notified_at", TS, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name="pk_ops_states"),
    )


def downgrade() -> None:
    op.drop_table("ops_states")
