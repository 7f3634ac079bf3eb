"""Holds get a table of their own: the manual-override holds kept in alert_states move there.

Until now a hold was an alert state with rule ``_actions/override/<field>``, state ``held`` and its data packed
into ``last_values`` (``until``, ``journal_id``, ``value``, ``by``). The upgrade copies each into ``holds``
(``starts_at`` = ``since``, ``ends_at`` = ``until``, ``created_at`` = ``updated_at``; ``value`` as JSON, the
text it was stored as) and deletes it from alert_states. The downgrade puts the newest hold of each entity
field back the way it was (the old schema keeps one per field) and drops the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The rule names of holds kept as alert states before this revision, and their state.
HOLD_PREFIX = "_actions/override/"
HELD = "held"


def alert_states() -> sa.TableClause:
    return sa.table(
        "alert_states",
        sa.column("advertiser_id", sa.String()),
        sa.column("rule", sa.String()),
        sa.column("level", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("state", sa.String()),
        sa.column("since", TS),
        sa.column("last_notified_at", TS),
        sa.column("last_values", sa.Text()),
        sa.column("updated_at", TS),
    )


def holds() -> sa.TableClause:
    return sa.table(
        "holds",
        sa.column("id", BIG_ID),
        sa.column("advertiser_id", sa.String()),
        sa.column("level", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("field", sa.String()),
        sa.column("starts_at", TS),
        sa.column("ends_at", TS),
        sa.column("created_by", sa.String()),
        sa.column("comment", sa.Text()),
        sa.column("journal_id", sa.BigInteger()),
        sa.column("value", sa.Text()),
        sa.column("created_at", TS),
    )


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("journal_id", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"], name="fk_holds_advertiser_id_advertisers"),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
    )
    op.create_index("ix_holds_advertiser_id_ends_at", "holds", ["advertiser_id", "ends_at"])

    bind = op.get_bind()
    states = alert_states()
    held = states.c.rule.startswith(HOLD_PREFIX, autoescape=True)  # "_" is a LIKE wildcard: escaped
    rows = bind.execute(sa.select(states).where(held).order_by(states.c.advertiser_id, states.c.rule)).all()
    if not rows:
        return
    sqlite = bind.dialect.name == "sqlite"
    bind.execute(holds().insert(), [_hold(row, sqlite) for row in rows])
    bind.execute(sa.delete(states).where(held))


def downgrade() -> None:
    bind = op.get_bind()
    table = holds()
    newest: dict[tuple[str, str, str, str], Any] = {}
    for row in bind.execute(sa.select(table).order_by(table.c.ends_at, table.c.id)):
        newest[(row.advertiser_id, row.field, row.level, row.entity_id)] = row  # the latest end wins
    if newest:
        bind.execute(alert_states().insert(), [_state(row) for row in newest.values()])
    op.drop_index("ix_holds_advertiser_id_ends_at", table_name="holds")
    op.drop_table("holds")


def _hold(row: Any, sqlite: bool) -> dict[str, Any]:
    """A hold row from an alert state row, its ``last_values`` read as the monitor at 0002 read them (its
    ``override.from_state``)."""
    try:
        values = json.loads(row.last_values or "{}")
    except ValueError:
        values = {}
    values = values if isinstance(values, dict) else {}
    since = _utc(row.since)
    until = _moment(values.get("until")) or since  # unreadable: the hold counts as over
    journal_id = values.get("journal_id")
    value = values.get("value")
    return {
        "advertiser_id": row.advertiser_id,
        "level": row.level,
        "entity_id": row.entity_id,
        "field": row.rule.removeprefix(HOLD_PREFIX),
        "starts_at": _column(since, sqlite),
        "ends_at": _column(until, sqlite),
        "created_by": str(values.get("by") or "a person"),
        "comment": None,
        "journal_id": int(journal_id) if isinstance(journal_id, int | float) else None,
        "value": None if value is None else _dumps(value),
        "created_at": _column(_utc(row.updated_at), sqlite),
    }


def _state(row: Any) -> dict[str, Any]:
    """An alert state row as the monitor at 0002 wrote a hold (its ``override.to_state``), from a hold row."""
    value = None if row.value is None else json.loads(row.value)
    packed = {
        "until": _utc(row.ends_at).isoformat(),
        "journal_id": row.journal_id,
        "value": None if value is None else str(value),
        "by": row.created_by,
    }
    return {
        "advertiser_id": row.advertiser_id,
        "rule": HOLD_PREFIX + row.field,
        "level": row.level,
        "entity_id": row.entity_id,
        "state": HELD,
        "since": row.starts_at,
        "last_notified_at": None,
        "last_values": _dumps(packed),
        "updated_at": row.created_at,
    }


def _moment(text: object) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(str(text))) if text is not None else None
    except ValueError:
        return None


def _utc(moment: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _column(moment: datetime, sqlite: bool) -> datetime:
    """What the store writes: naive UTC on SQLite (no time zones there), aware on PostgreSQL."""
    return moment.replace(tzinfo=None) if sqlite else moment


def _dumps(value: Any) -> str:
    """The store's canonical JSON (monitor.store.values.dumps, written out: a revision is a frozen record)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
