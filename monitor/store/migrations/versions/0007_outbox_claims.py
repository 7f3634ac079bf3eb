"""Outbox claims: a sender claims rows before delivering them, so several senders share one database safely.

Two nullable columns on ``outbox``: ``claimed_by`` (the sender holding the row, or the last one that did) and
``claimed_until`` (when that claim runs out; NULL when none holds it). See monitor.store.outbox.

Rows still pending at the upgrade may have been in the middle of a delivery by the monitor that was stopped for
it (which kept no claims): they are marked as claims that have already run out (``claimed_by`` = "before 0007",
``claimed_until`` = their ``created_at``), so the first sender to take one asks the channel whether it arrived
before sending it, as after any interrupted claim. The downgrade drops both columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BEFORE = "before 0007"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_by", sa.String(), nullable=True))
    op.add_column("outbox", sa.Column("claimed_until", TS, nullable=True))
    outbox = sa.table(
        "outbox",
        sa.column("status", sa.String()),
        sa.column("created_at", TS),
        sa.column("claimed_by", sa.String()),
        sa.column("claimed_until", TS),
    )
    op.execute(
        outbox.update().where(outbox.c.status == "pending").values(claimed_by=BEFORE, claimed_until=outbox.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
