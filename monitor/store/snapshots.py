"""Reading snapshots back: the current one from ``entities``, any older one from the compact history.

A snapshot exists for every poll with status "ok" that is kept (monitor.store.tiers keeps one poll per hour, then
per day, of older history). The newest is the ``entities`` rows still present (a fast primary-key range read); an
older poll P is rebuilt from the history (monitor.store.history_read): per entity its newest state row with
``poll_id <= P``, if that says the entity was present, with each window's newest values.

The values of an ``entities`` row as a poll's writer builds them are here too (:class:`EntityValues`,
:func:`row_values`; :class:`MetricsMoved` for a row whose entity's metrics alone moved).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult

from monitor import fastjson
from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.domain.building import restored_state
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, shared
from monitor.store.models import EntityKeyRow, EntityRow, PollRow
from monitor.store.values import PollStatus

entities_t = EntityRow.__table__
_SLICE = 2000  # rows read in one trip and converted between two turns of the event loop (a few milliseconds)
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
#: The columns whose values many states share (a handful of levels and statuses, a few thousand parents): a poll
#: reads them as one text per row, a JSON array (:func:`_shared_text`), and converts each distinct text once.
#: Read apart, each is a value the driver makes per row, and SQLite's module (Python 3.11) releases and takes the
#: GIL around each column of each row: six columns a row instead of eleven, one lookup instead of six. Loading
#: 100,000 ads from SQLite took 0.64 s of CPU with the eleven (bench/store_stages.py, 2026-12-06) and 0.32 s with
#: one text and the states restored by plain slot stores (monitor.domain.building). PostgreSQL spends about as
#: much of its own making the arrays (0.10 -> 0.18 s to execute the read) as this process saves (0.35 -> 0.28 s).
SHARED_COLUMNS = ("level", "operation_status", "secondary_status", "budget_mode", "campaign_id", "adgroup_id")

_LEVELS = {level.value: level for level in Level}
#: An ``entities`` row's ``entity_keys`` row (its history's key).
same_key = sa.and_(
    keys_t.c.advertiser_id == entities_t.c.advertiser_id,
    keys_t.c.level == entities_t.c.level,
    keys_t.c.entity_id == entities_t.c.entity_id,
)


SharedValues = tuple[Level, str | None, str | None, str | None, str | None, str | None]
_T = TypeVar("_T")


class SharedFields(dict[Any, SharedValues]):
    """:data:`SHARED_COLUMNS`' values of a row (the level a :class:`Level`, each text one string object:
    monitor.domain.values.shared) by the row's text of them, or the tuple of them when read apart (``parse``
    makes the values of it), looked up as a dict: each distinct text converted once, not once per row."""

    def __init__(self, parse: Callable[[Any], Sequence[Any]]) -> None:
        super().__init__()
        self._parse = parse

    def __missing__(self, text: Any) -> SharedValues:
        level, operation, secondary, mode, campaign, adgroup = self._parse(text)
        found = (_LEVELS[level], shared(operation), shared(secondary), shared(mode), shared(campaign), shared(adgroup))
        self[text] = found
        return found


async def latest_poll(
    conn: AsyncConnection, advertiser_id: str, before: int | None = None
) -> tuple[int, datetime] | None:
    """Id and time of the newest successful poll of the advertiser (older than poll ``before`` if given)."""
    if before is None:
        row = (await conn.execute(_LATEST_POLL, {"advertiser_id": advertiser_id})).first()
    else:
        row = (await conn.execute(_LATEST_POLL_BEFORE, {"advertiser_id": advertiser_id, "before": before})).first()
    return None if row is None else (row.id, row.started_at)


#: :func:`latest_poll`'s statements, built once: every poll runs one (monitor.store.prebuilt).
_LATEST_POLL = (
    sa.select(polls_t.c.id, polls_t.c.started_at)
    .where(polls_t.c.advertiser_id == sa.bindparam("advertiser_id"), polls_t.c.status == PollStatus.OK.value)
    .order_by(polls_t.c.id.desc())
    .limit(1)
)
_LATEST_POLL_BEFORE = _LATEST_POLL.where(polls_t.c.id < sa.bindparam("before"))


async def load_current(
    conn: AsyncConnection,
    advertiser_id: str,
    sids: dict[EntityKey, int] | None = None,
    *,
    shared_text: bool = True,
) -> Snapshot | None:
    """The newest snapshot of the advertiser, or None before its first successful poll. ``sids``: filled, in the
    same read, with the history's key of each of its entities that has one (monitor.store.history).
    ``shared_text`` False: :data:`SHARED_COLUMNS` read apart even where the database can make them one text
    (the tests compare the two reads)."""
    found = await read_current(conn, advertiser_id, sids, _states, shared_text=shared_text)
    if found is None:
        return None
    poll_id, taken_at, states = found
    # read-only as it is: Snapshot copies any other mapping, 5 MB and a moment for 100,000 entities
    return Snapshot(advertiser_id, poll_id, taken_at, MappingProxyType(states))


#: What :func:`read_current` hands the rows to: ``(rows, advertiser_id, sids, fields, apart)`` -> what it made of
#: them (:func:`_states` here; monitor.store.lean keeps the rows as read).
Convert = Callable[[AsyncResult[Any], str, dict[EntityKey, int] | None, "SharedFields", bool], Awaitable[_T]]


async def read_current(
    conn: AsyncConnection,
    advertiser_id: str,
    sids: dict[EntityKey, int] | None,
    convert: Convert[_T],
    *,
    shared_text: bool = True,
) -> tuple[int, datetime, _T] | None:
    """The newest successful poll of the advertiser (id, time) and what ``convert`` made of its present
    ``entities`` rows, streamed (id, metrics, name, budget, sid or None, then :data:`SHARED_COLUMNS` as one text
    or, when ``apart``, as columns); None before its first successful poll. ``sids`` and ``shared_text``: as
    :func:`load_current` has them."""
    poll = await latest_poll(conn, advertiser_id)
    if poll is None:
        return None
    shared = _shared_text(conn.dialect) if shared_text else None
    columns: list[sa.ColumnElement[Any]] = [entities_t.c.entity_id, entities_t.c.metrics, entities_t.c.name]
    columns.append(entities_t.c.budget)
    columns.append(keys_t.c.sid if sids is not None else sa.null().label("sid"))
    columns += [shared] if shared is not None else [entities_t.c[name] for name in SHARED_COLUMNS]
    query = sa.select(*columns)
    if sids is not None:
        query = query.select_from(entities_t.outerjoin(keys_t, same_key))
    query = query.where(entities_t.c.advertiser_id == advertiser_id, entities_t.c.present.is_(True))
    fields = SharedFields(fastjson.loads if shared is not None else tuple)
    try:
        result = await conn.stream(query.execution_options(yield_per=_SLICE))
        made = await convert(result, advertiser_id, sids, fields, shared is None)
    except sa.exc.OperationalError:
        if shared is None or conn.dialect.name != "sqlite":
            raise
        # a SQLite of 3.38 or later built without its JSON functions (SQLITE_OMIT_JSON): read them apart
        return await read_current(conn, advertiser_id, sids, convert, shared_text=False)
    return poll[0], poll[1], made


def _shared_text(dialect: sa.Dialect) -> sa.ColumnElement[Any] | None:
    """:data:`SHARED_COLUMNS` as one JSON array text, or None where the database has no JSON functions (SQLite
    before 3.38 may lack them; those columns are then read apart). A later SQLite built without them fails the
    read, which :func:`load_current` then makes apart."""
    columns = [entities_t.c[name] for name in SHARED_COLUMNS]
    if dialect.name == "postgresql":
        return sa.cast(sa.func.json_build_array(*columns), sa.Text)
    if dialect.name == "sqlite" and (dialect.server_version_info or (0,)) >= (3, 38):
        return sa.func.json_array(*columns)
    return None


async def load_at(conn: AsyncConnection, advertiser_id: str, poll_id: int, taken_at: datetime) -> Snapshot:
    """The snapshot of an older poll, rebuilt from the history (monitor.store.history_read)."""
    from monitor.store import history_read  # explain, backtest and revert read older polls; a poll never does

    return await history_read.load_at(conn, advertiser_id, poll_id, taken_at)


async def _states(
    result: AsyncResult[Any],
    advertiser_id: str,
    sids: dict[EntityKey, int] | None,
    fields: SharedFields,
    apart: bool,
) -> dict[EntityKey, EntityState]:
    """The states of the rows :func:`read_current` streams, converted a slice at a time, so the event loop runs
    between slices; each row unpacked as a tuple (100,000s of rows a poll), its metrics kept as stored text.
    Every state shares the one ``advertiser_id`` string given."""
    out: dict[EntityKey, EntityState] = {}
    stored, restored = StoredMetrics, restored_state
    for_sids = sids if sids is not None else {}
    async for part in result.partitions():
        rows: Iterable[Sequence[Any]] = part if not apart else apart_rows(part)
        for entity_id, metrics_json, name, budget, sid, text in rows:
            level, operation, secondary, mode, campaign, adgroup = fields[text]
            key = (level, entity_id)
            out[key] = restored(  # EntityState(...) without its checks: monitor.domain.building
                level,
                entity_id,
                advertiser_id,
                name,
                operation,
                secondary,
                budget,
                mode,
                campaign,
                adgroup,
                stored(metrics_json) if metrics_json != "{}" else EMPTY,  # decoded when read
            )
            if sid is not None:
                for_sids[key] = sid
    return out


def apart_rows(part: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows whose :data:`SHARED_COLUMNS` were read apart, as one tuple of them in the place of the one text."""
    return [(*r[:5], r[5:]) for r in part]


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


class MetricsMoved(EntityValues):
    """The values of an ``entities`` row whose entity was in the previous snapshot with the same
    :data:`STATE_COLUMNS` and is still present: only its metrics moved (the same values as any
    :class:`EntityValues`; its type says so, without a flag per row: monitor.store.poll_write)."""

    __slots__ = ()


#: The columns of an ``entities`` row that :func:`row_values` gives.
ENTITY_COLUMNS = EntityValues._fields
_tuple_new = tuple.__new__


def row_values(
    state: EntityState, metrics_json: str, present: bool, kind: type[EntityValues] = EntityValues
) -> EntityValues:
    """The ``entities`` column values of one entity, as a ``kind`` (:class:`MetricsMoved` or EntityValues)."""
    # tuple.__new__ straight: a NamedTuple's own __new__ is a Python function (100,000 rows a poll)
    key = (state.advertiser_id, state.level.value, state.id, present, metrics_json)
    return _tuple_new(kind, key + _state_columns(state))


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
