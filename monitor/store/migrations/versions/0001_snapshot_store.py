"""Snapshot store: advertisers, poll runs, leases, current entities and the delta-encoded snapshot history.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _entity_columns() -> list[sa.Column]:
    return [
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column("adgroup_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("operation_status", sa.String(), nullable=True),
        sa.Column("secondary_status", sa.String(), nullable=True),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("budget_mode", sa.String(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "advertisers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("timezone", sa.String(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_poll_id", sa.BigInteger(), nullable=True),
        sa.Column("last_poll_at", TS, nullable=True),
        sa.Column("last_poll_status", sa.String(), nullable=True),
        sa.Column("last_poll_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_advertisers"),
    )
    op.create_table(
        "leases",
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_leases_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("advertiser_id", name="pk_leases"),
    )
    op.create_table(
        "polls",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("entities", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_polls_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_polls"),
    )
    op.create_index("ix_polls_advertiser_status_id", "polls", ["advertiser_id", "status", "id"])
    op.create_table(
        "entities",
        *_entity_columns(),
        sa.Column("first_seen_poll", sa.BigInteger(), nullable=False),
        sa.Column("changed_poll", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_entities_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("advertiser_id", "level", "entity_id", name="pk_entities"),
    )
    op.create_table(
        "snapshot_rows",
        *_entity_columns(),
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id", "level", "entity_id"],
            ["entities.advertiser_id", "entities.level", "entities.entity_id"],
            name="fk_snapshot_rows_advertiser_id_level_entity_id_entities",
        ),
        sa.PrimaryKeyConstraint("advertiser_id", "level", "entity_id", "poll_id", name="pk_snapshot_rows"),
    )


def downgrade() -> None:
    raise NotImplementedError("downgrade is not supported")
