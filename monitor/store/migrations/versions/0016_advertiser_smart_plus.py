"""Whether an advertiser has Upgraded Smart+ campaigns, as its latest poll found: ``advertisers.smart_plus``.

A poll starts its ad-level reports before its lists come back (monitor.fetch_ad_reports), keyed by ``ad_id_v2``
when the advertiser has Upgraded Smart+ campaigns. Known only in the process that polled it, that guess was
wrong at every ``once`` and at the first poll after a restart (each ad window's report read twice) and after a
poll that could not read ``smart_plus/campaign/get``. The column keeps what the latest successful poll found
(NULL: never known, e.g. before this revision). The downgrade drops the column (SQLite 3.35 or later).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("advertisers", sa.Column("smart_plus", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # not a batch (SQLite's copy of the table): other tables' rows refer to advertisers, so dropping the old
    # copy fails with foreign keys on; SQLite drops a column in place since 3.35
    op.drop_column("advertisers", "smart_plus")
