"""Writing the compact history (monitor.store.history_codec): entity keys, names, and one poll's rows in bulk.

A poll's writer knows the ``sid`` of every entity of its previous snapshot (read with it before the write
transaction: monitor.store.lean.load_lean, or, read by fingerprint, of those that changed or disappeared, read with
their texts: monitor.store.lean.read_texts; :func:`load_sids` before a first poll); the others are looked
up or given new keys in the transaction (one INSERT, one SELECT). The ``history_names`` (windows, metric sets) are
a few dozen rows, read whole in the transaction and added to when a new window or metric set turns up. Then each
table gets a bulk INSERT of tuples (monitor.store.bulk: an executemany per slice of rows, on PostgreSQL a COPY per
slice and one INSERT ... SELECT), each slice of rows built, handed over and let go before the next (a large
account's first poll writes 100,000s of them: monitor.store.poll_write). On PostgreSQL
each row also carries the ``day`` it is stored under (its poll's UTC date, read from ``polls``:
monitor.store.partitions).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from functools import cache
from itertools import filterfalse, repeat
from operator import attrgetter, call
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.domain import EntityKey, Level
from monitor.store import bulk, lease, partitions
from monitor.store.history_codec import (
    METRIC_SET,
    STATE_FIELDS,
    WINDOW,
    HistoryChanges,
    StateEvent,
    WindowEvent,
    in_order,
    metric_set,
    pack_many,
    pack_ordered,
)
from monitor.store.models import EntityKeyRow, HistoryMetricsRow, HistoryNameRow, HistoryStateRow
from monitor.store.prebuilt import PerDialect

keys_t = EntityKeyRow.__table__
states_t = HistoryStateRow.__table__
metrics_t = HistoryMetricsRow.__table__
names_t = HistoryNameRow.__table__

_LEVELS = {level.value: level for level in Level}
_level_name = attrgetter("value")


#: The INSERT of entities' history keys that has none (an entity's key made once), per dialect; and the INSERT
#: into each history table: built once, so that monitor.store.bulk compiles each once per process.
_NEW_KEYS = PerDialect(
    lambda dialect: lease.insert_of(dialect, keys_t).on_conflict_do_nothing(
        index_elements=[keys_t.c.advertiser_id, keys_t.c.level, keys_t.c.entity_id]
    )
)


@cache
def _insert_into(table: sa.TableClause) -> sa.Insert:
    return sa.insert(table)


async def load_sids(conn: AsyncConnection, advertiser_id: str) -> dict[EntityKey, int]:
    """The ``sid`` of every entity of the advertiser that has one."""
    query = sa.select(keys_t.c.level, keys_t.c.entity_id, keys_t.c.sid).where(keys_t.c.advertiser_id == advertiser_id)
    return {(_LEVELS[row.level], row.entity_id): row.sid for row in await conn.execute(query)}


async def ensure_sids(
    conn: AsyncConnection,
    advertiser_id: str,
    sids: dict[EntityKey, int],
    wanted: Iterable[EntityKey],
    recheck: Collection[EntityKey] = (),
    slice_rows: int = bulk.SLICE_ROWS,
) -> None:
    """Give the ``wanted`` entities missing from ``sids`` a key (their ``entities`` rows exist), into ``sids``.
    Keys in ``recheck`` (entities appearing in this poll: a first poll's ``sids``, :func:`load_sids`, hold every
    key of the advertiser, gone entities' too, which pruning may have deleted since: monitor.store.forget_gone)
    are looked up again. The keys are inserted in one order (level name, entity id), ``slice_rows`` at a
    time; ``sids`` keeps the ``wanted`` key objects (a first poll's 100,000 keys are not each read back into a
    new tuple and id string kept as long as the poll)."""
    for key in recheck:
        sids.pop(key, None)
    missing = sorted_keys(set(filterfalse(sids.__contains__, wanted)), _level_name)
    if not missing:
        return
    async with bulk.executing(conn, _NEW_KEYS(conn), ("advertiser_id", "level", "entity_id")) as add:
        for start in range(0, len(missing), slice_rows):
            part = missing[start : start + slice_rows]
            await add([(advertiser_id, level.value, entity_id) for level, entity_id in part])
    if len(missing) > 500:  # many new entities (a first poll): one range read of the advertiser's keys
        # each key in sids first, as the caller's object: a key read back equal to it then sets its value only
        sids.update(zip(missing, repeat(_UNREAD)))
        del missing
        await _read_sids(conn, advertiser_id, sids, slice_rows)
        return
    pair = sa.tuple_(keys_t.c.level, keys_t.c.entity_id)
    for start in range(0, len(missing), 500):  # bounded statements: SQLite limits the parameters of one
        chunk = [(level.value, entity_id) for level, entity_id in missing[start : start + 500]]
        query = sa.select(keys_t.c.level, keys_t.c.entity_id, keys_t.c.sid).where(
            keys_t.c.advertiser_id == advertiser_id, pair.in_(chunk)
        )
        sids.update({(_LEVELS[row.level], row.entity_id): row.sid for row in await conn.execute(query)})


#: The value of a key in ``sids`` before it is read back (see :func:`ensure_sids`).
_UNREAD = -1


def sorted_keys(keys: Iterable[EntityKey], level_order: Callable[[Level], Any]) -> list[EntityKey]:
    """``keys`` sorted by ``level_order`` of their level, then by entity id: each level's keys sorted in C (they
    compare by id), without a sort key made per entity."""
    by_level: dict[Level, list[EntityKey]] = {}
    for key in keys:
        by_level.setdefault(key[0], []).append(key)
    ordered: list[EntityKey] = []
    for level in sorted(by_level, key=level_order):
        ordered += sorted(by_level.pop(level))
    return ordered


async def _read_sids(conn: AsyncConnection, advertiser_id: str, sids: dict[EntityKey, int], slice_rows: int) -> None:
    """Every ``sid`` of the advertiser into ``sids``, streamed ``slice_rows`` rows at a time; a key of ``sids``
    left :data:`_UNREAD` (none should be: its row was just inserted) is taken out again, as if never made."""
    query = sa.select(keys_t.c.level, keys_t.c.entity_id, keys_t.c.sid).where(keys_t.c.advertiser_id == advertiser_id)
    result = await conn.stream(query.execution_options(yield_per=slice_rows))
    levels = _LEVELS
    async for rows in result.partitions():
        for level, entity_id, sid in rows:
            sids[(levels[level], entity_id)] = sid  # an equal key there already stays that object
    if _UNREAD in sids.values():
        for key in [key for key, sid in sids.items() if sid == _UNREAD]:
            del sids[key]


async def name_ids(conn: AsyncConnection, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The ids of ``history_names`` rows ``(kind, value)``, adding those that are new."""
    found = await all_names(conn)
    missing = sorted(set(wanted) - set(found))
    if missing:
        insert = lease.dialect_insert(conn, names_t).on_conflict_do_nothing(
            index_elements=[names_t.c.kind, names_t.c.value]
        )
        await conn.execute(insert, [{"kind": kind, "value": value} for kind, value in missing])
        found = await all_names(conn)
    return found


async def all_names(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """Every ``history_names`` row, ``(kind, value) -> id``."""
    rows = await conn.execute(sa.select(names_t.c.id, names_t.c.kind, names_t.c.value))
    return {(row.kind, row.value): row.id for row in rows}


async def write(
    conn: AsyncConnection,
    advertiser_id: str,
    poll_id: int,
    changes: HistoryChanges,
    sids: dict[EntityKey, int],
    appearing: Collection[EntityKey] = (),
    slice_rows: int = bulk.SLICE_ROWS,
) -> None:
    """Insert one poll's history rows (the entities' rows are written already); ``appearing``: the entities not
    in the previous snapshot (their keys are looked up again, see :func:`ensure_sids`). The rows are built and
    handed over ``slice_rows`` at a time (a first poll of a large account writes 100,000s)."""
    if not len(changes):
        return
    states, windows = changes.states, changes.windows
    # an entity new to the history has a state row: its key is made with those of the states
    state_sids = await _sids_of(conn, advertiser_id, sids, states, appearing, slice_rows)
    poll: dict[str, Any] = {"poll_id": poll_id}  # the same in every row: not a value of each (monitor.store.bulk)
    if partitions.partitioned(conn):
        poll["day"] = await partitions.poll_day(conn, poll_id)
    if states:
        table = partitions.with_day(states_t) if "day" in poll else states_t
        async with bulk.inserting(conn, _insert_into(table), STATE_ROW_COLUMNS, poll) as add:
            for start in range(0, len(states), slice_rows):
                part = zip(state_sids[start : start + slice_rows], states[start : start + slice_rows], strict=True)
                await add([(sid, e.present, *_state_values(e.state)) for sid, e in part])
    del state_sids
    if windows:
        table = partitions.with_day(metrics_t) if "day" in poll else metrics_t
        async with bulk.inserting(conn, _insert_into(table), WINDOW_COLUMNS, poll) as add:
            await _write_windows(conn, advertiser_id, windows, sids, add, slice_rows)


async def _sids_of(
    conn: AsyncConnection,
    advertiser_id: str,
    sids: dict[EntityKey, int],
    events: Sequence[StateEvent],
    recheck: Collection[EntityKey] = (),
    slice_rows: int = bulk.SLICE_ROWS,
) -> list[int]:
    """The ``sid`` of each state event's entity, in order, making those missing (:func:`ensure_sids`). Without
    ``recheck`` each key is looked up once when all are known (the common case), not again to find the missing."""
    if not recheck:
        try:
            return list(map(sids.__getitem__, map(_key, events)))
        except KeyError:
            pass
    await ensure_sids(conn, advertiser_id, sids, map(_key, events), recheck, slice_rows)
    return list(map(sids.__getitem__, map(_key, events)))


_key = attrgetter("key")
_window = attrgetter("window")
_values = attrgetter("values")
#: The columns of a ``history_states`` row (but its poll), in the order :func:`write` builds them.
STATE_ROW_COLUMNS = ("sid", "present", *STATE_FIELDS)
_state_values = attrgetter(*STATE_FIELDS)
#: The columns of a ``history_metrics`` row (but its poll), in the order :func:`_write_windows` builds them.
WINDOW_COLUMNS = ("sid", "window_id", "metric_set", "vals")


class _Shapes(dict[tuple[str, ...], int]):
    """Each distinct metric set (a window's names, in their order) numbered as it is first seen."""

    def __missing__(self, shape: tuple[str, ...]) -> int:
        self[shape] = number = len(self)
        return number


async def _write_windows(
    conn: AsyncConnection,
    advertiser_id: str,
    windows: Sequence[WindowEvent],
    sids: dict[EntityKey, int],
    add: bulk.Add,
    slice_rows: int,
) -> None:
    """Hand the ``history_metrics`` rows (:data:`WINDOW_COLUMNS`) of the window events to ``add``, ``slice_rows``
    at a time (``sids``: their entities' keys, made for those without one), adding new window names and metric
    sets to ``history_names`` first, all at once. A poll writes 100,000s of them over a handful of metric sets:
    each set's id and sorting are worked out once, and each window's set is remembered by its number (no tuple of
    names kept per row). A slice whose windows all have values is built in C, its values encoded in one call
    (:func:`~monitor.store.history_codec.pack_many`: 0.12 s of a warm 100,000-ad poll's commit, 63,000 windows,
    where a window at a time cost 0.25 s); the others a window at a time."""
    shapes = _Shapes()
    of = [-1 if w.values is None else shapes[tuple(w.values)] for w in windows]  # each window's set, by number
    texts = {(WINDOW, name) for name in {w.window for w in windows}}
    texts |= {(METRIC_SET, metric_set(dict.fromkeys(s))) for s in shapes}
    ids = await name_ids(conn, texts)
    window_ids = {name: found for (kind, name), found in ids.items() if kind == WINDOW}
    layouts = [(ids[(METRIC_SET, metric_set(dict.fromkeys(s)))], in_order(sorted(s))) for s in shapes]
    set_ids, getters = [layout[0] for layout in layouts], [layout[1] for layout in layouts]
    for start in range(0, len(windows), slice_rows):
        part = windows[start : start + slice_rows]
        try:
            keys = list(map(sids.__getitem__, map(_key, part)))  # each looked up once
        except KeyError:  # an entity without a key and without a state row: make those of every window's at once
            await ensure_sids(conn, advertiser_id, sids, map(_key, windows), (), slice_rows)
            keys = list(map(sids.__getitem__, map(_key, part)))
        numbers = of[start : start + slice_rows]
        if -1 not in numbers:  # every window with values (the common case): each read in its set's order, in C
            packed = pack_many(list(map(call, map(getters.__getitem__, numbers), map(_values, part))))
            if packed is not None:
                named = map(window_ids.__getitem__, map(_window, part))
                await add(list(zip(keys, named, map(set_ids.__getitem__, numbers), packed, strict=True)))
                continue
        rows: list[tuple[Any, ...]] = []
        row = rows.append
        for sid, w, shape in zip(keys, part, numbers, strict=True):
            values = w.values
            if shape < 0 or values is None:
                row((sid, window_ids[w.window], None, None))
                continue
            set_id, ordered = layouts[shape]
            row((sid, window_ids[w.window], set_id, pack_ordered(values, ordered)))
        await add(rows)
        del rows
