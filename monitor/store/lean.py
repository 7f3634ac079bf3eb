"""The previous snapshot read lean for a poll: each ``entities`` row kept as read, a state made only where needed.

A warm poll of a large account reads its previous snapshot back (100,000 rows) only to compare the new states
with it, and 75-90 % of its entities have not changed. :func:`~monitor.store.snapshots.load_current` makes an
:class:`~monitor.domain.EntityState` and a :class:`~monitor.domain.stored.StoredMetrics` of each row: about 100
bytes an entity more than the row as read, held through the fetch, where a warm poll peaks (70.1 MB against 59.7
for 101,020 entities, bench/store_lean.py). Here each row is kept as it was read, a :class:`LeanRow` (the ids,
names, statuses and metrics text are the very objects the driver made, the shared values one tuple per distinct
text): the load costs about 0.09 s less, and the comparison gives most of that back (CPU about even).
:func:`~monitor.store.poll_changes.poll_changes` compares a new state with it (the metrics' stored text, then the
fields) and makes the previous state, as ``load_current`` makes it (:meth:`LeanPrevious.state`), only of an
entity that changed or disappeared: the diff, the history and the rules' ``prev`` read those.

An unchanged entity's previous state is the new state itself (:meth:`LeanPrevious.keep`), which reads as the
state ``load_current`` would have made: equal text is equal metrics of equal types, and the comparison hands the
previous state the new metrics anyway (:meth:`StoredMetrics.adopt`); the stored fields compare equal (the
budget's type is checked too: an ``int`` equals a stored ``float``); ``smart_plus`` and ``changed_by`` are never
stored, so a new state that is Smart+, says who changed it or has a budget of another type gets a state of its
own, as ``load_current`` reads it. After the comparison, :meth:`LeanPrevious.snapshot` is the previous snapshot,
in the order it was read, and the rows are let go: the unchanged entities' texts (about 260 bytes each) are then
no longer held for the rest of the poll.

**Read by fingerprint** (``load_lean(..., fingerprints=True)``, the pipeline's polls): a row keeps the hash of
its metrics' text in place of the text (:attr:`LeanRow.fingerprint`, Python's ``hash`` of the ``str``: computed
and compared in this process only, never stored). The texts of a warm 100,000-ad poll were about 30 MB of the
peak, held through the fetch only to be compared with the new ones. :meth:`LeanPrevious.settle` compares each
new state's text with its row's fingerprint and settles the unchanged rows; the texts of the rows left (changed,
gone, or of levels the poll did not save) are then read again by key and put in their rows
(:meth:`LeanPrevious.fill`), with their history keys (``sids``, which no row settled unchanged needs: it writes
no history; not read with every row, the previous snapshot's read is one join less), and the comparison goes
on as above. Two different texts with one hash (a chance of
about 2**-64 per comparison, the hash keyed per process) would leave one metrics change unwritten for one poll:
the next poll compares with the text still stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from operator import attrgetter
from types import MappingProxyType
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult

from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.domain.building import restored_state
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY
from monitor.store.snapshots import SharedFields, SharedValues, apart_rows, entities_t, keys_t, read_current, same_key

__all__ = ["LeanPrevious", "LeanRow", "load_lean", "read_texts"]


class LeanRow(NamedTuple):
    """One ``entities`` row of the previous snapshot as read. ``id`` and ``name`` are what the fetch borrows
    (monitor.domain.building.build_states' ``known``)."""

    id: str
    text: str | None  # the metrics' stored text (None: read by fingerprint, not yet filled)
    name: str | None
    budget: float | None
    #: level, operation_status, secondary_status, budget_mode, campaign_id, adgroup_id (one tuple per distinct
    #: combination: monitor.store.snapshots.SharedFields)
    shared: SharedValues
    fingerprint: int = 0  # hash(text) where the row was read by fingerprint (see the module docstring)


#: A state's values in a :class:`LeanRow`'s order from ``name`` to ``shared``, compared with ``row[2:5]``.
_shared = attrgetter("level", "operation_status", "secondary_status", "budget_mode", "campaign_id", "adgroup_id")
_tuple_new = tuple.__new__


class LeanPrevious(dict[EntityKey, LeanRow | EntityState]):
    """The previous snapshot's rows by key, read lean; ``poll_id`` and ``taken_at`` are the snapshot's. A
    comparison settles each row it looks at (:meth:`keep`, :meth:`state`): the row's value is then the state
    that stands for it, in its place (the rows' order kept, no second dict of 100,000 keys); :meth:`snapshot`
    then is the snapshot ``load_current`` reads, states made for the rows not settled."""

    def __init__(self, advertiser_id: str) -> None:
        super().__init__()
        self.advertiser_id = advertiser_id
        self.poll_id = 0
        self.taken_at: datetime | None = None
        self._settled = 0
        self._left = 0  # rows read by fingerprint whose texts are not filled yet (all of them until settle())
        #: The new states' metrics texts :meth:`settle` worked out for rows it left, by key (each taken once).
        self.new_texts: dict[EntityKey, str] = {}
        #: The mapping :meth:`settle` was given and those of its entries it did not settle with the new state
        #: itself: all the comparison need look at of that mapping (monitor.store.poll_changes).
        self.pending: tuple[Mapping[EntityKey, EntityState], list[tuple[EntityKey, EntityState]]] | None = None

    def keep(self, key: EntityKey, row: LeanRow, new: EntityState, text: str | None = None) -> bool:
        """Whether ``new``, whose metrics the caller found to encode to ``row``'s very text, has the row's
        fields too (the comparison of :func:`~monitor.store.poll_changes.poll_changes`, in this row's order);
        if so, ``new`` stands for the previous state of ``key`` (see the module docstring). ``text``: that
        text, for a row read by fingerprint."""
        if (new.name, new.budget, _shared(new)) != row[2:5]:
            return False
        if new.smart_plus is False and new.changed_by is None and type(new.budget) is type(row.budget):
            self[key] = new
            self._settled += 1
        else:  # what load_current reads: its metrics the new ones, as the comparison hands them over
            metrics = self.state(key, row if row.text is not None else row._replace(text=text)).metrics
            if type(metrics) is StoredMetrics:
                metrics.adopt(new.metrics)
        return True

    @property
    def unfilled(self) -> bool:
        """Whether some row read by fingerprint has no text yet (:meth:`settle`, :meth:`fill`)."""
        return self._left > 0

    def settle(
        self, saved: Mapping[EntityKey, EntityState], text_of: Callable[[EntityState], str | None]
    ) -> list[EntityKey]:
        """For rows read by fingerprint: settle each row of ``saved``'s keys whose new state's metrics text
        (``text_of``: None when it cannot tell) has the row's fingerprint and whose fields are the row's
        (:meth:`keep`); returns the keys of the rows left, whose texts :meth:`fill` must put in before the
        comparison goes on (those that changed, disappeared, or are of levels not saved). :attr:`pending`: the
        entries of ``saved`` not settled, which the comparison then looks at without going over the others."""
        lean, find, known = LeanRow, self.get, self.new_texts
        left: list[EntityKey] = []
        pending: list[tuple[EntityKey, EntityState]] = []  # saved's entries whose previous state is not theirs
        unfilled = 0  # rows without text found in saved
        for item in saved.items():
            key, state = item
            row = find(key)
            if type(row) is lean and row.text is None:
                unfilled += 1
                text = text_of(state)
                if text is None or not (hash(text) == row.fingerprint and self.keep(key, row, state, text)):
                    if text is not None:
                        known[key] = text  # the comparison needs it again (monitor.store.poll_changes)
                    left.append(key)
                    pending.append(item)
                elif find(key) is not state:  # kept as a state of its own (see keep)
                    pending.append(item)
            elif row is not state:
                pending.append(item)
        if unfilled < self._left:  # rows without text of keys not in saved (gone, or of levels not saved)
            left = [key for key, row in self.items() if type(row) is lean and row.text is None]
        self._left = len(left)
        self.pending = (saved, pending)
        return left

    def fill(self, texts: Mapping[EntityKey, str]) -> None:
        """Put the texts read again into the rows :meth:`settle` left (``texts`` must hold each of them)."""
        new, lean, filled = _tuple_new, LeanRow, 0
        for key, text in texts.items():
            row = self[key]
            if type(row) is lean and row[1] is None:  # (row[1]: its text; a row made anew, not _replace's calls)
                self[key] = new(lean, (row[0], text, *row[2:]))
                filled += 1
        self._left -= filled

    def state(self, key: EntityKey, row: LeanRow) -> EntityState:
        """The previous state of ``key`` (``row``), as ``load_current`` reads it; kept as the snapshot's."""
        made = self[key] = self._made(row)
        self._settled += 1
        return made

    def _made(self, row: LeanRow) -> EntityState:
        entity_id, text, name, budget, (level, operation, secondary, mode, campaign, adgroup), _ = row
        if text is None:
            raise RuntimeError(f"the previous state of {entity_id} was read by fingerprint: fill its text first")
        metrics = StoredMetrics(text) if text != "{}" else EMPTY
        return restored_state(
            level, entity_id, self.advertiser_id, name, operation, secondary, budget, mode, campaign, adgroup, metrics
        )

    def snapshot(self) -> Snapshot:
        """The previous snapshot: each row's settled state, or one made now (``load_current``'s, in its order)."""
        entities: dict[EntityKey, Any] = dict(self)  # a plain dict, copied in C (each key's hash as stored)
        if self._settled < len(entities):  # rows of levels the poll did not save
            made, lean = self._made, LeanRow
            entities.update([(key, made(row)) for key, row in entities.items() if type(row) is lean])
        assert self.taken_at is not None  # set by load_lean
        return Snapshot(self.advertiser_id, self.poll_id, self.taken_at, MappingProxyType(entities))


async def load_lean(
    conn: AsyncConnection,
    advertiser_id: str,
    sids: dict[EntityKey, int] | None = None,
    *,
    shared_text: bool = True,
    fingerprints: bool = False,
) -> LeanPrevious | None:
    """:func:`~monitor.store.snapshots.load_current`'s snapshot as rows (None before the first successful poll);
    ``sids`` and ``shared_text`` as it has them; ``fingerprints``: each row's metrics read as the hash of their
    text (see the module docstring)."""
    found = await read_current(
        conn, advertiser_id, sids, partial(_rows, fingerprints=fingerprints), shared_text=shared_text
    )
    if found is None:
        return None
    poll_id, taken_at, rows = found
    rows.poll_id, rows.taken_at = poll_id, taken_at
    return rows


async def _rows(
    result: AsyncResult[Any],
    advertiser_id: str,
    sids: dict[EntityKey, int] | None,
    fields: SharedFields,
    apart: bool,
    *,
    fingerprints: bool,
) -> LeanPrevious:
    """The rows :func:`~monitor.store.snapshots.read_current` streams, a slice at a time (the event loop runs
    between slices), each kept as a :class:`LeanRow` of the values the driver made (``fingerprints``: its text
    kept as its hash only)."""
    out = LeanPrevious(advertiser_id)
    for_sids = sids if sids is not None else {}
    new, lean = _tuple_new, LeanRow
    async for part in result.partitions():
        rows: Iterable[Sequence[Any]] = part if not apart else apart_rows(part)
        for entity_id, text, name, budget, sid, shared_text in rows:
            shared = fields[shared_text]
            key = (shared[0], entity_id)
            if fingerprints:
                out[key] = new(lean, (entity_id, None, name, budget, shared, hash(text)))
            else:
                out[key] = new(lean, (entity_id, text, name, budget, shared, 0))
            if sid is not None:
                for_sids[key] = sid
    out._left = len(out) if fingerprints else 0
    return out


#: Ids per statement of :func:`read_texts`: within the bound parameters SQLite allows (32,766 since 3.32, 999
#: before) and asyncpg (32,767).
_IDS_PER_READ, _IDS_PER_READ_OLD_SQLITE = 5000, 900


async def read_texts(
    conn: AsyncConnection,
    advertiser_id: str,
    keys: Iterable[EntityKey],
    *,
    as_of: int,
    sids: dict[EntityKey, int] | None = None,
) -> dict[EntityKey, str]:
    """The metrics' stored text of the advertiser's present ``entities`` rows of these keys last written by poll
    ``as_of`` or before (a key with no such row is not in the answer: another process wrote it since, which only
    a poll that lost its lease sees), for :meth:`LeanPrevious.fill`. ``sids``: filled, in the same read, with the
    history's key of each of them that has one (a previous snapshot read by fingerprint reads them here, of the
    rows that changed or disappeared only: an entity settled unchanged writes no history)."""
    by_level: dict[Level, list[str]] = {}
    for level, entity_id in keys:
        by_level.setdefault(level, []).append(entity_id)
    found: dict[EntityKey, str] = {}
    c = entities_t.c
    old = conn.dialect.name == "sqlite" and (conn.dialect.server_version_info or (0,)) < (3, 32)
    step = _IDS_PER_READ_OLD_SQLITE if old else _IDS_PER_READ
    sid = keys_t.c.sid if sids is not None else sa.null()
    for arms in _packed(
        [(level, ids[start : start + step]) for level, ids in by_level.items() for start in range(0, len(ids), step)],
        step,
    ):
        # the levels' reads in one statement (a UNION ALL, each arm read by the key's index): one trip to the
        # database where a small poll's changed entities of three or four levels made one each (issue 18)
        selects = []
        for arm, (level, ids) in enumerate(arms):
            query = sa.select(sa.literal_column(str(arm)), c.entity_id, c.metrics, sid).where(
                c.advertiser_id == advertiser_id,
                c.level == level,
                c.present.is_(True),
                c.changed_poll <= as_of,
                c.entity_id.in_(ids),
            )
            selects.append(query if sids is None else query.select_from(entities_t.outerjoin(keys_t, same_key)))
        statement = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        for arm, entity_id, text, entity_sid in await conn.execute(statement):
            key = (arms[arm][0], entity_id)
            found[key] = text
            if sids is not None and entity_sid is not None:
                sids[key] = entity_sid
    return found


def _packed(arms: list[tuple[Level, list[str]]], step: int) -> list[list[tuple[Level, list[str]]]]:
    """Consecutive ``(level, ids)`` reads grouped so that each group names ``step`` ids at most (each arm binds
    its own few parameters besides: at most one arm per level is not full, so a group has four at most)."""
    groups: list[list[tuple[Level, list[str]]]] = []
    total = step
    for arm in arms:
        if total + len(arm[1]) > step:
            groups.append([])
            total = 0
        groups[-1].append(arm)
        total += len(arm[1])
    return groups
