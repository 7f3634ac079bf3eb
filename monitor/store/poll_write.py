"""A poll's ``entities`` rows and history written in slices, inside the commit's one transaction (issue 18).

The rows of a poll are the entities that appeared, changed or disappeared (monitor.store.poll_changes), each
with its metrics' stored text, and their history rows (monitor.store.history). A large account's first poll
writes all of them: 100,000 entity rows with their texts and 400,000 window rows, which held at once were most
of the poll's memory at its peak. Here no slice of rows outlives its write:

* **compared** (the pipeline compares before the rules run: :meth:`~monitor.store.poll_writer.PollWriter.compare`):
  the entity rows are at hand; each slice is handed to the driver and let go before the next (the texts are no
  longer kept, once written, while the history is built);
* **not compared** (a first poll: there is no previous snapshot whose metrics the comparison could hand to the
  rules, so the pipeline does not compare before): the entities are compared slice by slice, in the order their
  rows are written, each slice off the event loop; its rows are written and let go, and only its history events
  (small tuples of the entity's key and the window's values, which the poll holds anyway) are kept for the
  history.

Either way the rows reach the database in the same order as one list would (level, then entity id: the order of
:func:`~monitor.store.poll_changes.poll_changes`), with the same values; the history's rows are then written in
slices too (:func:`monitor.store.history.write`). All of it runs in the caller's transaction: a crash or an
error in any slice leaves nothing of the poll written.

On SQLite most rows of a warm poll are entities whose metrics moved and nothing else: their row is there, present,
with the very fields the previous snapshot read from it. Those are written by an UPDATE of the metrics (and
``changed_poll``) by primary key, four values a row, instead of the upsert's twelve with its attempted insert:
for 44,867 such rows of a 100,000-ad poll, 0.21 s of CPU in SQLite's thread instead of 0.30 s, and the commit
0.61 s instead of 0.66 s once the check of each row against the previous state is paid (bench/store_poll_db.py
--upserts, medians of 6 runs each on a shared machine). That check is the comparison's, which has both states at
hand: it makes those rows :class:`~monitor.store.snapshots.MetricsMoved` (monitor.store.poll_changes), and the
commit tells them apart by their type, in C, instead of looking each up in the previous snapshot again (0.06 s
less in the commit of 58,893 rows, a few hundredths more in the comparison). The rows end the same: the upsert
would set those fields to the values they hold (a float budget equal to the new one is the same REAL to SQLite).
Should a row not be there or not be present after all (the count of rows updated says so), the slice's rows are
all upserted then, in their order, as without the UPDATE. On PostgreSQL every row is upserted, as before: through
asyncpg the rows are COPYed and upserted in one statement (monitor.store.bulk), which an UPDATE per row would not
beat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from itertools import chain, compress, repeat
from operator import is_, not_
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.domain import LEVEL_ORDER, EntityKey, EntityState, Level
from monitor.store import bulk, history, lease
from monitor.store.history_codec import HistoryChanges, StateEvent, WindowEvent
from monitor.store.models import EntityRow
from monitor.store.poll_changes import poll_changes
from monitor.store.prebuilt import PerDialect
from monitor.store.snapshots import ENTITY_COLUMNS, STATE_COLUMNS, EntityValues, MetricsMoved

__all__ = ["write_poll_rows"]

entities_t = EntityRow.__table__

#: ``entities`` with its columns in the order of a row of :class:`EntityValues` (then the poll's ids): the
#: statement's parameters come in the rows' order, so the rows go to the driver as they are, not rebuilt in the
#: table's order (100,000s a poll).
_entities_in_row_order = sa.table(
    "entities",
    *(sa.column(name, entities_t.c[name].type) for name in (*ENTITY_COLUMNS, "first_seen_poll", "changed_poll")),
)


async def write_poll_rows(
    conn: AsyncConnection,
    advertiser_id: str,
    poll_id: int,
    previous: Mapping[EntityKey, EntityState],
    saved: Mapping[EntityKey, EntityState],
    saved_levels: Iterable[Level],
    compared: tuple[list[EntityValues], HistoryChanges] | None,
    sids: dict[EntityKey, int],
    slice_rows: int = bulk.SLICE_ROWS,
    *,
    metrics_updates: bool = True,
    finite: bool = False,
) -> int:
    """Write the ``entities`` rows of the poll and their history, ``slice_rows`` at a time; the number of
    ``entities`` rows written. ``compared``: the poll's rows worked out already (the list is emptied as it is
    written: the caller hands it over), or None to compare ``previous`` and ``saved`` (complete for
    ``saved_levels``) here, slice by slice (``finite``: every float of ``saved``'s metrics known finite,
    :func:`~monitor.store.poll_changes.poll_changes`). ``sids``: the history's keys known (see
    :func:`monitor.store.history.write`). ``metrics_updates`` False: every row upserted, none updated by its
    metrics alone (see the module docstring; the tests compare the two)."""
    async with _writing_entities(conn, poll_id, metrics_updates) as add:
        if compared is not None:
            rows, changes = compared
            written = len(rows)
            while rows:
                await add(rows[:slice_rows])
                del rows[:slice_rows]  # its texts are let go before the history is built
        else:
            written, changes = await _compare_and_add(previous, saved, set(saved_levels), add, slice_rows, finite)
    if written:
        appearing = [e.key for e in changes.states if e.present and e.key not in previous]
        await history.write(conn, advertiser_id, poll_id, changes, sids, appearing, slice_rows)
    return written


@asynccontextmanager
async def _writing_entities(conn: AsyncConnection, poll_id: int, metrics_updates: bool) -> AsyncIterator[bulk.Add]:
    """Gives ``add`` for the poll's ``entities`` rows: each upserted, or (``metrics_updates``, on SQLite) updated
    by its metrics when the comparison found the entity in the previous snapshot with the row's very fields (see
    the module docstring)."""
    async with _upserting(conn, poll_id) as upsert:
        if not metrics_updates or conn.dialect.name != "sqlite":
            yield upsert
            return
        async with bulk.counting(conn, _METRICS_UPDATE, _ROW_NAMES, {"changed_poll": poll_id}) as update:

            async def add(rows: Sequence[bulk.Row]) -> None:
                updates, upserts = _metrics_only(rows)
                if updates and await update(updates) != len(updates):
                    upserts = rows  # a row not there or not present: every row of the slice upserted, in order
                await upsert(upserts)

            yield add


#: The names of a row's values (:data:`ENTITY_COLUMNS`) as :func:`_metrics_update` binds them (no name of a
#: column: SQLAlchemy keeps those for the values it sets): the rows go to the driver as they are, the statement's
#: four values taken from each in C (monitor.store.bulk), not copied into a tuple of their own per row.
_ROW_NAMES = tuple(f"row_{name}" for name in ENTITY_COLUMNS)


#: An ``entities`` row's metrics set, by its key, if it is present; and ``changed_poll``, the poll's id, a constant
#: of the statement (monitor.store.bulk). Built once: the same statement object poll after poll is compiled once.
_METRICS_UPDATE = (
    sa.update(entities_t)
    .where(
        entities_t.c.advertiser_id == sa.bindparam("row_advertiser_id"),
        entities_t.c.level == sa.bindparam("row_level"),
        entities_t.c.entity_id == sa.bindparam("row_entity_id"),
        entities_t.c.present.is_(True),
    )
    .values(metrics=sa.bindparam("row_metrics"))
)


def _metrics_only(rows: Sequence[bulk.Row]) -> tuple[list[bulk.Row], Sequence[bulk.Row]]:
    """Of ``rows`` (:class:`EntityValues`), those of entities present in the previous snapshot and still present
    with the same fields (:class:`~monitor.store.snapshots.MetricsMoved`, as the comparison made them), and the
    others; told apart in C."""
    moved = list(map(is_, map(type, rows), repeat(MetricsMoved)))
    return list(compress(rows, moved)), list(compress(rows, map(not_, moved)))


def _upsert(dialect: str) -> Any:
    """The upsert of ``entities`` rows: new ones inserted, known ones updated."""
    table: Any = _entities_in_row_order
    insert = lease.insert_of(dialect, table)
    changing = ("present", "metrics", *STATE_COLUMNS)
    return insert.on_conflict_do_update(
        index_elements=["advertiser_id", "level", "entity_id"],
        set_={**{name: insert.excluded[name] for name in changing}, "changed_poll": insert.excluded.changed_poll},
    )


_UPSERT = PerDialect(_upsert)  # built once per dialect: compiled once (monitor.store.bulk)


def _upserting(conn: AsyncConnection, poll_id: int) -> AbstractAsyncContextManager[bulk.Add]:
    """:func:`monitor.store.bulk.inserting` for ``entities`` rows: new ones inserted, known ones updated."""
    # the poll's id is the same in each row: a literal of the statement, not a value of each row
    constants = {"first_seen_poll": poll_id, "changed_poll": poll_id}
    return bulk.inserting(conn, _UPSERT(conn), ENTITY_COLUMNS, constants)


async def _compare_and_add(
    previous: Mapping[EntityKey, EntityState],
    saved: Mapping[EntityKey, EntityState],
    levels: set[Level],
    add: bulk.Add,
    slice_rows: int,
    finite: bool = False,
) -> tuple[int, HistoryChanges]:
    """Compare the entities in slices of ``slice_rows`` keys, in the order their rows are written (each slice
    worked out off the event loop), and hand each slice's rows to ``add``; the rows written and the history's
    events of all of them."""
    gone = [key for key in previous if key[0] in levels and key not in saved]  # saved states are of those levels
    states: list[StateEvent] = []
    windows: list[WindowEvent] = []
    written = 0
    keys = history.sorted_keys(chain(saved, gone), LEVEL_ORDER.__getitem__)  # the order of the rows
    for start in range(0, len(keys), slice_rows):
        part = keys[start : start + slice_rows]
        was = {key: previous[key] for key in part if key in previous} if previous else {}
        if gone:
            now = {key: saved[key] for key in part if key in saved}
        else:  # every key is saved's: taken in C
            now = dict(zip(part, map(saved.__getitem__, part), strict=True))
        rows, changes = await asyncio.to_thread(partial(poll_changes, was, now, levels, finite=finite))
        written += len(rows)
        await add(rows)
        del rows
        states += changes.states
        windows += changes.windows
    return written, HistoryChanges(tuple(states), tuple(windows))
