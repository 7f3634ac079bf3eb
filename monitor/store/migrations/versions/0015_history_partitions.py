"""PostgreSQL: ``history_states`` and ``history_metrics`` become tables partitioned by day (issue 22, item 3).

Expired history is then dropped a day at a time (``DROP TABLE`` of a partition, monitor.store.partition_drop)
instead of deleted row by row: a DELETE over the millions of rows of an old day writes every row again (dead
tuples, WAL, vacuum) and leaves the space to autovacuum, a dropped partition gives its files back at once.

The partition key is a ``day`` column (``date``), the UTC date of the poll that wrote the row, and part of the
primary key (PostgreSQL requires the partition key in every unique index). Why not ranges of ``poll_id``: poll
ids come from one sequence shared by every advertiser and replica, so where a day begins in it is only known
once the day's first poll has an id: a partition could not be made ahead, and a range could not be closed at
midnight without splitting a partition under writes. A day is known from the clock, partitions are made ahead
(monitor.store.partitions), and it is exactly the span the daily tier compacts into (monitor.store.tiers: UTC
days), so compaction's batches work inside one partition. The cost is four bytes a row.

Every existing row is copied into its day's partition (its poll's start, UTC); a row whose poll was pruned (the
base state a kept snapshot still reads) goes under the oldest day there is. Every snapshot reads the same: the
readers use ``sid`` and ``poll_id`` only. Partitions are made for each day with history, plus a default
partition for rows whose day has none (monitor.store.partitions). Rewriting the history takes a while on a large
database and needs the space of a second copy until it commits. The downgrade copies the rows back into plain
tables (a row moved out of a dropped day is kept once).

SQLite: nothing changes (its history is two ``WITHOUT ROWID`` tables, pruned by batched deletes).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLUMNS = {
    "history_states": "sid, poll_id, present, name, operation_status, secondary_status, budget, budget_mode",
    "history_metrics": "sid, window_id, poll_id, metric_set, vals",
}
DEFINITIONS = {
    "history_states": (
        "sid BIGINT NOT NULL, poll_id BIGINT NOT NULL, present BOOLEAN NOT NULL, name VARCHAR, "
        "operation_status VARCHAR, secondary_status VARCHAR, budget FLOAT, budget_mode VARCHAR"
    ),
    "history_metrics": (
        "sid BIGINT NOT NULL, window_id INTEGER NOT NULL, poll_id BIGINT NOT NULL, metric_set INTEGER, vals TEXT"
    ),
}
KEYS = {"history_states": "sid, poll_id", "history_metrics": "sid, window_id, poll_id"}
DAY = "(started_at AT TIME ZONE 'UTC')::date"


def _plain(table: str, *, day: bool) -> str:
    columns = DEFINITIONS[table] + (", day DATE NOT NULL" if day else "")
    key = KEYS[table] + (", day" if day else "")
    return (
        f"CREATE TABLE {table} ({columns}, CONSTRAINT pk_{table} PRIMARY KEY ({key}), "
        f"CONSTRAINT fk_{table}_sid_entity_keys FOREIGN KEY (sid) REFERENCES entity_keys (sid))"
        + (" PARTITION BY RANGE (day)" if day else "")
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    # each day with polls, and the tier all its polls are kept at (a partition written whole is compact already:
    # monitor.store.partition_rewrite reads the comment)
    days = bind.execute(sa.text(f"SELECT {DAY}, min(tier) FROM polls GROUP BY 1 ORDER BY 1")).all()  # noqa: S608
    oldest = sa.text(f"(SELECT min({DAY}) FROM polls)")  # noqa: S608
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_0014")
        op.execute(f"ALTER TABLE {table}_0014 RENAME CONSTRAINT pk_{table} TO pk_{table}_0014")
        op.execute(_plain(table, day=True))
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        for day, tier in days:
            op.execute(f"CREATE TABLE {_name(table, day)} PARTITION OF {table} {_bounds(day)}")
            if tier > 0:
                op.execute(f"COMMENT ON TABLE {_name(table, day)} IS 'compacted at tier {tier}'")
        old = ", ".join(f"h.{c.strip()}" for c in columns.split(","))
        op.execute(
            f"INSERT INTO {table} ({columns}, day) SELECT {old}, "  # noqa: S608
            f"COALESCE((p.started_at AT TIME ZONE 'UTC')::date, {oldest.text}, (now() AT TIME ZONE 'UTC')::date) "
            f"FROM {table}_0014 h LEFT JOIN polls p ON p.id = h.poll_id"
        )
        op.execute(f"DROP TABLE {table}_0014")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_0015")
        op.execute(f"ALTER TABLE {table}_0015 RENAME CONSTRAINT pk_{table} TO pk_{table}_0015")
        op.execute(_plain(table, day=False))
        op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_0015 ON CONFLICT DO NOTHING")  # noqa: S608
        op.execute(f"DROP TABLE {table}_0015")  # its partitions with it


def _name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bounds(day: date) -> str:
    return f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
