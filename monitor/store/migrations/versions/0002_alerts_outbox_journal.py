"""Alert states, the notification outbox and the action journal.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("last_notified_at", TS, nullable=True),
        sa.Column("last_values", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"], ["advertisers.id"], name="fk_alert_states_advertiser_id_advertisers"
        ),
        sa.PrimaryKeyConstraint("advertiser_id", "rule", "level", "entity_id", name="pk_alert_states"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("advertiser_id", sa.String(), nullable=True),
        sa.Column("poll_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_outbox_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("poll_id", sa.BigInteger(), nullable=True),
        sa.Column("reverts", sa.BigInteger(), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_actions_advertiser_id_advertisers"),
        sa.ForeignKeyConstraint(["reverts"], ["actions.id"], name="fk_actions_reverts_actions"),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
    )
    op.create_index("ix_actions_advertiser_id_id", "actions", ["advertiser_id", "id"])


def downgrade() -> None:
    raise NotImplementedError("downgrade is not supported")
