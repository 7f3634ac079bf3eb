"""Compact history: ``snapshot_rows`` becomes ``entity_keys``, ``history_states``, ``history_metrics`` and
``history_names`` (see monitor.store.history_codec); ``polls.tier`` says at which resolution a poll is kept.

Every existing history row is converted, entity by entity in poll order: a state row where the entity appeared,
disappeared, or its name, status or budget changed; a window row where that window's values changed (or it was
no longer reported). Every stored snapshot rebuilds the same, but for parents, which are now read from
``entities`` (TikTok never moves an ad or ad group; if an old row had other parents, the current ones show). Every
existing poll is tier 0 (every poll). The downgrade rebuilds ``snapshot_rows`` from the compact history (a full
row at each poll where an entity's state or a window changed).

On SQLite both history tables are ``WITHOUT ROWID``. Space the old table held is reused by later writes; a new
database gets ``auto_vacuum=INCREMENTAL`` (monitor.store.db, monitor.store.maintain), an existing one keeps its
mode (changing it needs a full ``VACUUM``, which ``tiktok-monitor`` does not run on its own).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.domain import EntityState, Level
from monitor.store.history_codec import METRIC_SET, WINDOW, entity_events, metric_set, pack, set_names, unpack
from monitor.store.values import dumps

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PAGE = 5000
OLD_KEY = ("advertiser_id", "level", "entity_id", "poll_id")
STATE = ("name", "operation_status", "secondary_status", "budget", "budget_mode")


def _tables() -> None:
    op.create_table(
        "entity_keys",
        sa.Column("sid", BIG_ID, nullable=False),
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id", "level", "entity_id"],
            ["entities.advertiser_id", "entities.level", "entities.entity_id"],
            name="fk_entity_keys_advertiser_id_level_entity_id_entities",
        ),
        sa.PrimaryKeyConstraint("sid", name="pk_entity_keys"),
        sa.UniqueConstraint("advertiser_id", "level", "entity_id", name="uq_entity_keys_advertiser_id_level_entity_id"),
    )
    op.create_table(
        "history_states",
        sa.Column("sid", sa.BigInteger(), nullable=False),
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.String(), nullable=True) for name in ("name", "operation_status", "secondary_status")),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("budget_mode", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"], name="fk_history_states_sid_entity_keys"),
        sa.PrimaryKeyConstraint("sid", "poll_id", name="pk_history_states"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "history_metrics",
        sa.Column("sid", sa.BigInteger(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.Column("metric_set", sa.Integer(), nullable=True),
        sa.Column("vals", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"], name="fk_history_metrics_sid_entity_keys"),
        sa.PrimaryKeyConstraint("sid", "window_id", "poll_id", name="pk_history_metrics"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "history_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_history_names"),
        sa.UniqueConstraint("kind", "value", name="uq_history_names_kind_value"),
    )


def upgrade() -> None:
    _tables()
    op.add_column("polls", sa.Column("tier", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO entity_keys (advertiser_id, level, entity_id) SELECT advertiser_id, level, entity_id "
            "FROM entities ORDER BY advertiser_id, level, entity_id"
        )
    )
    sids = {
        (row.advertiser_id, row.level, row.entity_id): row.sid
        for row in bind.execute(sa.text("SELECT sid, advertiser_id, level, entity_id FROM entity_keys"))
    }
    names: dict[tuple[str, str], int] = {}
    states: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    old: EntityState | None = None
    entity: tuple[str, str, str] | None = None
    for row in _old_rows(bind):
        key = (row.advertiser_id, row.level, row.entity_id)
        if key != entity:
            entity, old = key, None
        new = _state(row) if row.present else None
        state, changed = entity_events(old, new)
        sid = sids[key]
        if state is not None:
            values = {name: getattr(state.state, name) for name in STATE}
            states.append({"sid": sid, "poll_id": row.poll_id, "present": state.present, **values})
        for event in changed:
            windows.append(_window_row(bind, names, sid, row.poll_id, event.window, event.values))
        old = new
        if len(states) + len(windows) >= PAGE:
            _flush(bind, states, windows)
    _flush(bind, states, windows)
    op.drop_table("snapshot_rows")


def _old_rows(bind: sa.Connection) -> Iterator[Any]:
    """``snapshot_rows`` in key order, a page at a time (keyset pagination: no cursor held across writes)."""
    old = _table("snapshot_rows", *OLD_KEY, "present", *STATE, "campaign_id", "adgroup_id", "metrics")
    key = sa.tuple_(*(old.c[name] for name in OLD_KEY))
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(old).order_by(*(old.c[name] for name in OLD_KEY)).limit(PAGE)
        if last is not None:
            query = query.where(key > sa.tuple_(*(sa.literal(v) for v in last)))
        page = bind.execute(query).fetchall()
        yield from page
        if len(page) < PAGE:
            return
        last = tuple(getattr(page[-1], name) for name in OLD_KEY)


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


def _state(row: Any) -> EntityState:
    return EntityState(
        level=Level(row.level),
        id=row.entity_id,
        advertiser_id=row.advertiser_id,
        **{name: getattr(row, name) for name in STATE},
        metrics=json.loads(row.metrics),
    )


def _name_id(bind: sa.Connection, names: dict[tuple[str, str], int], kind: str, value: str) -> int:
    if (kind, value) not in names:
        bind.execute(sa.text("INSERT INTO history_names (kind, value) VALUES (:k, :v)"), {"k": kind, "v": value})
        found = bind.execute(
            sa.text("SELECT id FROM history_names WHERE kind = :k AND value = :v"), {"k": kind, "v": value}
        )
        names[(kind, value)] = found.scalar_one()
    return names[(kind, value)]


def _window_row(
    bind: sa.Connection, names: dict[tuple[str, str], int], sid: int, poll_id: int, window: str, values: Any
) -> dict[str, Any]:
    packed = None if values is None else (_name_id(bind, names, METRIC_SET, metric_set(values)), pack(values))
    return {
        "sid": sid,
        "window_id": _name_id(bind, names, WINDOW, window),
        "poll_id": poll_id,
        "metric_set": None if packed is None else packed[0],
        "vals": None if packed is None else packed[1],
    }


def _flush(bind: sa.Connection, states: list[dict[str, Any]], windows: list[dict[str, Any]]) -> None:
    if states:
        bind.execute(_table("history_states", "sid", "poll_id", "present", *STATE).insert(), states)
    if windows:
        columns = ("sid", "window_id", "poll_id", "metric_set", "vals")
        bind.execute(_table("history_metrics", *columns).insert(), windows)
    states.clear()
    windows.clear()


def downgrade() -> None:
    op.create_table(
        "snapshot_rows",
        sa.Column("advertiser_id", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column("adgroup_id", sa.String(), nullable=True),
        *(sa.Column(name, sa.String(), nullable=True) for name in ("name", "operation_status", "secondary_status")),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("budget_mode", sa.String(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("poll_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id", "level", "entity_id"],
            ["entities.advertiser_id", "entities.level", "entities.entity_id"],
            name="fk_snapshot_rows_advertiser_id_level_entity_id_entities",
        ),
        sa.PrimaryKeyConstraint("advertiser_id", "level", "entity_id", "poll_id", name="pk_snapshot_rows"),
    )
    bind = op.get_bind()
    names = {
        row.id: (row.kind, row.value) for row in bind.execute(sa.text("SELECT id, kind, value FROM history_names"))
    }
    keys = bind.execute(
        sa.text(
            "SELECT k.sid, k.advertiser_id, k.level, k.entity_id, e.campaign_id, e.adgroup_id FROM entity_keys k "
            "JOIN entities e ON e.advertiser_id = k.advertiser_id AND e.level = k.level AND e.entity_id = k.entity_id"
        )
    ).fetchall()
    out: list[dict[str, Any]] = []
    for key in keys:
        out += _rebuilt(bind, names, key)
        if len(out) >= PAGE:
            _insert_old(bind, out)
    _insert_old(bind, out)
    for table in ("history_metrics", "history_states", "history_names", "entity_keys"):
        op.drop_table(table)
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("tier")


def _rebuilt(bind: sa.Connection, names: dict[int, tuple[str, str]], key: Any) -> list[dict[str, Any]]:
    """One entity's ``snapshot_rows``: a full row at each poll where its state or a window changed."""
    events: dict[int, list[Any]] = {}
    for row in bind.execute(sa.text("SELECT * FROM history_states WHERE sid = :s"), {"s": key.sid}):
        events.setdefault(row.poll_id, []).insert(0, row)
    for row in bind.execute(sa.text("SELECT * FROM history_metrics WHERE sid = :s"), {"s": key.sid}):
        events.setdefault(row.poll_id, []).append(row)
    state: Any = None
    metrics: dict[str, Any] = {}
    rows = []
    for poll_id in sorted(events):
        for row in events[poll_id]:
            if hasattr(row, "present"):
                state = row
            elif row.vals is None:
                metrics.pop(names[row.window_id][1], None)
            else:
                metrics[names[row.window_id][1]] = dict(unpack(set_names(names[row.metric_set][1]), row.vals))
        if state is None:
            continue
        rows.append(
            {
                "advertiser_id": key.advertiser_id,
                "level": key.level,
                "entity_id": key.entity_id,
                "poll_id": poll_id,
                "present": state.present,
                "campaign_id": key.campaign_id,
                "adgroup_id": key.adgroup_id,
                **{name: getattr(state, name) for name in STATE},
                "metrics": dumps(metrics),
            }
        )
    return rows


def _insert_old(bind: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = (*OLD_KEY, "present", "campaign_id", "adgroup_id", *STATE, "metrics")
        bind.execute(_table("snapshot_rows", *columns).insert(), rows)
    rows.clear()
