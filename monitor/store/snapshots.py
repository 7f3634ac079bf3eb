"""Reading snapshots back: the current one from ``entities``, any older one from the compact history.

A snapshot exists for every poll with status "ok" that is kept (monitor.store.tiers keeps one poll per hour, then
per day, of older history). The newest is the ``entities`` rows still present (a fast primary-key range read); an
older poll P is rebuilt from the history (monitor.store.history_read): per entity its newest state row with
``poll_id <= P``, if that says the entity was present, with each window's newest values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from types import MappingProxyType
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.domain.building import restored_state
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, shared
from monitor.store import history_read
from monitor.store.models import EntityKeyRow, EntityRow, PollRow
from monitor.store.values import PollStatus

entities_t = EntityRow.__table__
_SLICE = 5000  # rows converted between two turns of the event loop (a few milliseconds of work)
polls_t = PollRow.__table__
keys_t = EntityKeyRow.__table__

#: Columns that describe an entity's state, in the order the change detection compares them.
STATE_COLUMNS = (
    "campaign_id",
    "adgroup_id",
    "name",
    "operation_status",
    "secondary_status",
    "budget",
    "budget_mode",
)
_state_columns = attrgetter(*STATE_COLUMNS)

_LEVELS = {level.value: level for level in Level}
#: An ``entities`` row's ``entity_keys`` row (its history's key).
_same_key = sa.and_(
    keys_t.c.advertiser_id == entities_t.c.advertiser_id,
    keys_t.c.level == entities_t.c.level,
    keys_t.c.entity_id == entities_t.c.entity_id,
)


class _Shared(dict[str | None, str | None]):
    """One string object per distinct status, mode or parent id of a snapshot (monitor.domain.values.shared),
    looked up as a dict: interned once per distinct value, not once per row."""

    def __missing__(self, text: str | None) -> str | None:
        self[text] = found = shared(text)
        return found


async def latest_poll(
    conn: AsyncConnection, advertiser_id: str, before: int | None = None
) -> tuple[int, datetime] | None:
    """Id and time of the newest successful poll of the advertiser (older than poll ``before`` if given)."""
    query = (
        sa.select(polls_t.c.id, polls_t.c.started_at)
        .where(polls_t.c.advertiser_id == advertiser_id, polls_t.c.status == PollStatus.OK.value)
        .order_by(polls_t.c.id.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(polls_t.c.id < before)
    row = (await conn.execute(query)).first()
    return None if row is None else (row.id, row.started_at)


async def load_current(
    conn: AsyncConnection, advertiser_id: str, sids: dict[EntityKey, int] | None = None
) -> Snapshot | None:
    """The newest snapshot of the advertiser, or None before its first successful poll. ``sids``: filled, in the
    same read, with the history's key of each of its entities that has one (monitor.store.history)."""
    poll = await latest_poll(conn, advertiser_id)
    if poll is None:
        return None
    columns = [entities_t.c.level, entities_t.c.entity_id, entities_t.c.metrics]
    columns += [entities_t.c[name] for name in STATE_COLUMNS]
    query = sa.select(*columns, keys_t.c.sid if sids is not None else sa.null().label("sid"))
    if sids is not None:
        query = query.select_from(entities_t.outerjoin(keys_t, _same_key))
    query = query.where(entities_t.c.advertiser_id == advertiser_id, entities_t.c.present.is_(True))
    rows = await driver_rows(conn, query)
    # read-only as it is: Snapshot copies any other mapping, 5 MB and a moment for 100,000 entities
    return Snapshot(advertiser_id, poll[0], poll[1], MappingProxyType(await _states(rows, advertiser_id, sids)))


async def driver_rows(conn: AsyncConnection, query: sa.Select[Any]) -> list[Sequence[Any]]:
    """Every row of ``query`` as the database driver gives it (a tuple from sqlite3, a Record from asyncpg), in
    one statement: no SQLAlchemy ``Row`` per row and no round trip per slice (on SQLite, two trips to aiosqlite's
    thread in all; monitor.store.sqlite_trips). For columns SQLAlchemy gives as the driver does, with no result
    processing: text, floats and integers (tests/store/test_snapshot_load.py checks that of the snapshot's
    columns on both databases)."""
    result = await conn.execute(query)
    try:
        return list(result.cursor.fetchall())  # read already: the statement's rows wait in the adapter's cursor
    finally:
        result.close()


async def load_at(conn: AsyncConnection, advertiser_id: str, poll_id: int, taken_at: datetime) -> Snapshot:
    """The snapshot of an older poll, rebuilt from the history (monitor.store.history_read)."""
    return await history_read.load_at(conn, advertiser_id, poll_id, taken_at)


async def _states(
    rows: list[Sequence[Any]], advertiser_id: str, sids: dict[EntityKey, int] | None
) -> dict[EntityKey, EntityState]:
    """The states of ``rows`` (level, id, metrics, :data:`STATE_COLUMNS`, sid or None), converted in slices with
    a turn of the event loop between two, each slice's rows dropped once converted; each row unpacked as a tuple
    (100,000s of rows a poll), its metrics kept as stored text. Every state shares the one ``advertiser_id``
    string given."""
    out: dict[EntityKey, EntityState] = {}
    levels = _LEVELS
    one = _Shared()
    stored, restored = StoredMetrics, restored_state
    for_sids = sids if sids is not None else {}
    while rows:
        part = rows[:_SLICE]
        del rows[:_SLICE]  # what a state does not keep of its row goes now, not at the end
        for level_name, entity_id, metrics_json, campaign, adgroup, name, op, sec, budget, mode, sid in part:
            level = levels[level_name]
            key = (level, entity_id)
            out[key] = restored(  # EntityState(...) without its checks: monitor.domain.building
                level,
                entity_id,
                advertiser_id,
                name,
                one[op],
                one[sec],
                budget,
                one[mode],
                one[campaign],
                one[adgroup],
                stored(metrics_json) if metrics_json != "{}" else EMPTY,  # decoded when read
            )
            if sid is not None:
                for_sids[key] = sid
        if rows:
            await asyncio.sleep(0)
    return out


class EntityValues(NamedTuple):
    """The column values of one ``entities`` row (:data:`ENTITY_COLUMNS`' order): a plain tuple for the
    driver's executemany, one per changed entity of a poll (no dict per row)."""

    advertiser_id: str
    level: str
    entity_id: str
    present: bool
    metrics: str
    campaign_id: str | None
    adgroup_id: str | None
    name: str | None
    operation_status: str | None
    secondary_status: str | None
    budget: float | None
    budget_mode: str | None


#: The columns of an ``entities`` row that :func:`row_values` gives.
ENTITY_COLUMNS = EntityValues._fields
_tuple_new = tuple.__new__


def row_values(state: EntityState, metrics_json: str, present: bool) -> EntityValues:
    """The ``entities`` column values of one entity."""
    # tuple.__new__ straight: a NamedTuple's own __new__ is a Python function (100,000 rows a poll)
    key = (state.advertiser_id, state.level.value, state.id, present, metrics_json)
    return _tuple_new(EntityValues, key + _state_columns(state))


async def entity_names(
    conn: AsyncConnection, keys: Iterable[tuple[str, Level, str]]
) -> dict[tuple[str, Level, str], str | None]:
    """The current names of the entities ``(advertiser_id, level, entity_id)`` (by the ``entities`` primary key);
    an entity never stored is absent."""
    wanted = sorted({(a, Level(level).value, e) for a, level, e in keys})
    found: dict[tuple[str, Level, str], str | None] = {}
    key = sa.tuple_(entities_t.c.advertiser_id, entities_t.c.level, entities_t.c.entity_id)
    for start in range(0, len(wanted), 500):  # bounded statements: SQLite limits the parameters of one
        query = sa.select(entities_t.c.advertiser_id, entities_t.c.level, entities_t.c.entity_id, entities_t.c.name)
        for row in await conn.execute(query.where(key.in_(wanted[start : start + 500]))):
            found[(row.advertiser_id, _LEVELS[row.level], row.entity_id)] = row.name
    return found
