"""Silences (``tiktok-monitor silence add``) get a table beside ``holds``, and an alert state remembers that its
firing was withheld by a mute (a silence, the rule's active time) and is still to be notified and acted on.

``silences``: one row per silence, its matchers as JSON (``[{"name", "value", "is_glob"}]``), ``starts_at`` /
``ends_at`` (expired early by setting ``ends_at``), ``created_by``, ``comment``, ``created_at``. Nothing to move:
there were no silences before. ``alert_states.withheld`` is false for every existing state (their firings were
told). The downgrade drops both (withheld firings are then never told, as if they had been).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.add_column("alert_states", sa.Column("withheld", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("alert_states") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("withheld")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
