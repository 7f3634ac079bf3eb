"""The app's API budget shared by every process on the database: ``api_budget`` (one row per developer app: its
shared throttle pause) and ``api_budget_leases`` (the batches of request tokens processes leased, kept for a
minute). See monitor.store.budget. Nothing to migrate: until now each process had its own budget in memory.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_budget",
        sa.Column("app", sa.String(), nullable=False),
        sa.Column("paused_until", sa.Double(), nullable=False),
        sa.Column("pause", sa.Double(), nullable=False),
        sa.Column("slow_until", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("app", name="pk_api_budget"),
    )
    op.create_table(
        "api_budget_leases",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("app", sa.String(), nullable=False),
        sa.Column("t", sa.Double(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_budget_leases"),
    )
    op.create_index("ix_api_budget_leases_app_t", "api_budget_leases", ["app", "t"])


def downgrade() -> None:
    op.drop_index("ix_api_budget_leases_app_t", table_name="api_budget_leases")
    op.drop_table("api_budget_leases")
    op.drop_table("api_budget")
