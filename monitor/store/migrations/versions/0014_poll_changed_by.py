"""Who changed what in a poll (issue 19, item 6): ``polls.changed_by``.

A poll that read TikTok's Change Log (an entity's status or budget moved since the previous poll, and a rule reads
``changed_by`` or acts) records what it learned: a JSON list of ``[level, entity_id, who]``, NULL when it learned
nothing. A backtest replaying that poll gives its entities the same ``changed_by`` as the poll's rules saw. Older
polls have none (their ``changed_by`` reads no data in a backtest, as before). The downgrade drops the column.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("polls", sa.Column("changed_by", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("changed_by")
