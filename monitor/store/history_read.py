"""Reading the compact history back (monitor.store.history_codec): the snapshot of an older poll, and the rows
between two polls in poll order (a backtest's stream).

An :class:`Assembler` holds the newest state row and window rows of each entity it was given and builds the
entities' states from them; parents come from ``entities`` (they never change). The snapshot of poll P is, per
entity, its newest state row ``<= P`` (if present) and per window its newest window row ``<= P`` (if reported).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.domain import EntityKey, EntityState, Level, MetricValue, Snapshot
from monitor.store.history import keys_t, metrics_t, names_t, states_t
from monitor.store.history_codec import METRIC_SET, WINDOW, set_names, unpack
from monitor.store.models import EntityRow

entities_t = EntityRow.__table__
_LEVELS = {level.value: level for level in Level}
_SLICE = 2000  # rows fetched per round trip


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What the history does not repeat: an entity's key and parents."""

    level: Level
    entity_id: str
    campaign_id: str | None
    adgroup_id: str | None


@dataclass
class Assembler:
    """Entity states of one advertiser rebuilt from its history rows, applied oldest first."""

    advertiser_id: str
    keys: dict[int, KeyInfo]
    windows: dict[int, str]
    sets: dict[int, tuple[str, ...]]
    states: dict[int, Any] = field(default_factory=dict)  # sid -> newest state row
    values: dict[int, dict[str, Mapping[str, MetricValue]]] = field(default_factory=dict)

    def apply_state(self, row: Any) -> None:
        self.states[row.sid] = row

    def apply_window(self, row: Any) -> None:
        of = self.values.setdefault(row.sid, {})
        window = self.windows[row.window_id]
        if row.vals is None:
            of.pop(window, None)
        else:
            of[window] = unpack(self.sets[row.metric_set], row.vals)

    def entity(self, sid: int) -> EntityState | None:
        """The entity's state now, None while it is absent."""
        row = self.states.get(sid)
        if row is None or not row.present:
            return None
        key = self.keys[sid]
        return EntityState(
            level=key.level,
            id=key.entity_id,
            advertiser_id=self.advertiser_id,
            name=row.name,
            operation_status=row.operation_status,
            secondary_status=row.secondary_status,
            budget=row.budget,
            budget_mode=row.budget_mode,
            campaign_id=key.campaign_id,
            adgroup_id=key.adgroup_id,
            metrics=MappingProxyType(dict(self.values.get(sid, {}))),
        )

    def entities(self) -> dict[EntityKey, EntityState]:
        out: dict[EntityKey, EntityState] = {}
        for sid in self.states:
            state = self.entity(sid)
            if state is not None:
                out[state.key] = state
        return out


async def assembler(conn: AsyncConnection, advertiser_id: str) -> Assembler:
    """An empty assembler for the advertiser: its keys with parents, and the history's names."""
    query = (
        sa.select(keys_t.c.sid, keys_t.c.level, keys_t.c.entity_id, entities_t.c.campaign_id, entities_t.c.adgroup_id)
        .join(
            entities_t,
            (entities_t.c.advertiser_id == keys_t.c.advertiser_id)
            & (entities_t.c.level == keys_t.c.level)
            & (entities_t.c.entity_id == keys_t.c.entity_id),
        )
        .where(keys_t.c.advertiser_id == advertiser_id)
    )
    keys = {
        row.sid: KeyInfo(_LEVELS[row.level], row.entity_id, row.campaign_id, row.adgroup_id)
        for row in await conn.execute(query)
    }
    windows: dict[int, str] = {}
    sets: dict[int, tuple[str, ...]] = {}
    for row in await conn.execute(sa.select(names_t.c.id, names_t.c.kind, names_t.c.value)):
        if row.kind == WINDOW:
            windows[row.id] = row.value
        elif row.kind == METRIC_SET:
            sets[row.id] = set_names(row.value)
    return Assembler(advertiser_id, keys, windows, sets)


def sids_of(advertiser_id: str) -> sa.Select[Any]:
    return sa.select(keys_t.c.sid).where(keys_t.c.advertiser_id == advertiser_id)


def newest_states(advertiser_id: str, upto: int) -> sa.Select[Any]:
    """Each entity's newest state row no newer than poll ``upto``."""
    newer = states_t.alias("newer")
    superseded = (
        sa.select(sa.literal(1))
        .where(newer.c.sid == states_t.c.sid, newer.c.poll_id > states_t.c.poll_id, newer.c.poll_id <= upto)
        .exists()
    )
    return sa.select(states_t).where(
        states_t.c.sid.in_(sids_of(advertiser_id)), states_t.c.poll_id <= upto, ~superseded
    )


def newest_windows(advertiser_id: str, upto: int) -> sa.Select[Any]:
    """Each entity's newest row of each window no newer than poll ``upto``, where the window is reported."""
    newer = metrics_t.alias("newer")
    superseded = (
        sa.select(sa.literal(1))
        .where(
            newer.c.sid == metrics_t.c.sid,
            newer.c.window_id == metrics_t.c.window_id,
            newer.c.poll_id > metrics_t.c.poll_id,
            newer.c.poll_id <= upto,
        )
        .exists()
    )
    return sa.select(metrics_t).where(
        metrics_t.c.sid.in_(sids_of(advertiser_id)),
        metrics_t.c.poll_id <= upto,
        metrics_t.c.vals.is_not(None),
        ~superseded,
    )


async def assemble_at(conn: AsyncConnection, advertiser_id: str, poll_id: int) -> Assembler:
    """An assembler holding the advertiser's history as of poll ``poll_id``."""
    found = await assembler(conn, advertiser_id)
    for query, apply in (
        (newest_states(advertiser_id, poll_id).where(states_t.c.present.is_(True)), found.apply_state),
        (newest_windows(advertiser_id, poll_id), found.apply_window),
    ):
        result = await conn.stream(query.execution_options(yield_per=_SLICE))
        async for rows in result.partitions():
            for row in rows:
                apply(row)
    return found


async def load_at(conn: AsyncConnection, advertiser_id: str, poll_id: int, taken_at: datetime) -> Snapshot:
    """The snapshot of an older poll, rebuilt from the history."""
    found = await assemble_at(conn, advertiser_id, poll_id)
    return Snapshot(advertiser_id, poll_id, taken_at, found.entities())


def between(advertiser_id: str, after: int, upto: int) -> sa.Select[Any]:
    """The advertiser's state and window rows of the polls after ``after`` up to ``upto``, in poll order (within
    a poll, states first). ``kind`` is 0 for a state row, 1 for a window row."""
    sids = sids_of(advertiser_id)
    null = sa.null()
    states = sa.select(
        states_t.c.poll_id,
        sa.literal(0).label("kind"),
        states_t.c.sid,
        states_t.c.present,
        states_t.c.name,
        states_t.c.operation_status,
        states_t.c.secondary_status,
        states_t.c.budget,
        states_t.c.budget_mode,
        sa.cast(null, sa.Integer).label("window_id"),
        sa.cast(null, sa.Integer).label("metric_set"),
        sa.cast(null, sa.Text).label("vals"),
    ).where(states_t.c.sid.in_(sids), states_t.c.poll_id > after, states_t.c.poll_id <= upto)
    windows = sa.select(
        metrics_t.c.poll_id,
        sa.literal(1).label("kind"),
        metrics_t.c.sid,
        sa.cast(null, sa.Boolean).label("present"),
        *(sa.cast(null, sa.String).label(name) for name in ("name", "operation_status", "secondary_status")),
        sa.cast(null, sa.Float).label("budget"),
        sa.cast(null, sa.String).label("budget_mode"),
        metrics_t.c.window_id,
        metrics_t.c.metric_set,
        metrics_t.c.vals,
    ).where(metrics_t.c.sid.in_(sids), metrics_t.c.poll_id > after, metrics_t.c.poll_id <= upto)
    union = sa.union_all(states, windows).subquery()
    return sa.select(union).order_by(union.c.poll_id, union.c.kind)


async def rows_between(conn: AsyncConnection, advertiser_id: str, after: int, upto: int) -> AsyncGenerator[Any]:
    """Stream :func:`between`, ``_SLICE`` rows per trip to the database."""
    result = await conn.stream(between(advertiser_id, after, upto).execution_options(yield_per=_SLICE))
    try:
        async for part in result.partitions(_SLICE):
            for row in part:
                yield row
    finally:
        await result.close()
