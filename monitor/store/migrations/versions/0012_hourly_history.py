"""Hourly history of past local days, for baselines (issue 19, item 4): ``hourly_days`` and ``hourly_stats``.

``hourly_days``: one row per (advertiser, level, local date) whose ``stat_time_hour`` report is stored, with the
metrics it asked for and when it was fetched. ``hourly_stats``: one row per entity with a row in that report, its
hours as JSON; indexed by date for the prune job. Nothing to move: there was no hourly history before. The
downgrade drops both (baselines then fetch their history again).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hourly_days",
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("advertiser_id", "level", "day", name="pk_hourly_days"),
    )
    op.create_table(
        "hourly_stats",
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("advertiser_id", "level", "day", "entity_id", name="pk_hourly_stats"),
    )
    op.create_index("ix_hourly_stats_day", "hourly_stats", ["day"])


def downgrade() -> None:
    op.drop_index("ix_hourly_stats_day", table_name="hourly_stats")
    op.drop_table("hourly_stats")
    op.drop_table("hourly_days")
