"""Approvals (a rule's action waiting for a person): the ``approvals`` table; the journal records who approved
(``actions.approved_by``); a silence records who expired it (``silences.expired_by``).

``approvals``: one row per action asked for by a rule with ``approve``; text ids (``<poll id>-<n>``), the planned
change and the rule's values as JSON, ``state`` (pending, approved, blocked, rejected, expired), who decided and
when, the journal entry once carried out and the outcome. Nothing to move: there were none before. Both new
columns are null for every existing row (nobody approved those actions; nobody is recorded as having expired
those silences). The downgrade drops all three (pending approvals are then forgotten: their actions never run).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("entity_name", sa.String(), nullable=True),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("journal_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_approvals_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
    )
    op.create_index("ix_approvals_state_expires_at", "approvals", ["state", "expires_at"])
    op.create_index("ix_approvals_advertiser_id_state", "approvals", ["advertiser_id", "state"])
    op.add_column("actions", sa.Column("approved_by", sa.String(), nullable=True))
    op.add_column("silences", sa.Column("expired_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("silences") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("expired_by")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("approved_by")
    op.drop_index("ix_approvals_advertiser_id_state", table_name="approvals")
    op.drop_index("ix_approvals_state_expires_at", table_name="approvals")
    op.drop_table("approvals")
