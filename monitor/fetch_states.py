"""The edge of step 1 where what the API said becomes the domain's :class:`EntityState`: a level's listed rows
(:data:`~monitor.domain.EntityFields`, read by :mod:`monitor.tiktok.entity_rows`) and its report windows.

Issue 18: each report row's ``wanted`` metrics become one read-only window (a
:class:`~monitor.domain.values.ReadOnlyDict`: what the rules' compiled conditions read, in C), put straight
into the entity's dict of windows (one too, filled here through ``dict.__setitem__``); that dict is then handed
to the state as it is (never copied), and the states are built in bulk by
:func:`~monitor.domain.building.build_states`, which repeats none of the checks the values have had.

Rows with the same values share one window: most of a large account's ads report the same few values (no
conversions yesterday, no spend in their lifetime), and a window cost about 250 bytes (its dict, and a proxy then), so
a 100,000-ad snapshot with four windows held some 300,000 copies of a few thousand windows (about 70 MB). They are
shared only where equal values are the same values: each column of one type besides None (``0 == 0.0``) and no
negative float (``-0.0 == 0.0``); a window is read-only, so sharing it changes nothing a reader can see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from functools import partial
from itertools import chain, repeat
from math import copysign, isfinite
from operator import is_not
from typing import Any, cast

from monitor.domain import EntityFields, EntityKey, EntityState, Level, Metrics, MetricValue
from monitor.domain.building import Known, build_states
from monitor.domain.values import EMPTY, ReadOnlyDict
from monitor.fetch_hours import HourlyRows
from monitor.fetch_placing import Aligned, Placing, Windows
from monitor.tiktok.models import SMART_PLUS_AD_DIMENSION, AdvertiserInfo, Entity
from monitor.tiktok.report_table import ReportTable

__all__ = [
    "Aligned",
    "Windows",
    "add_hours",
    "advertiser_state",
    "entity_state",
    "finite_values",
    "join_window",
    "level_states",
    "smart_plus",
]


_SLICE = 1000  # report rows joined between two turns of the event loop
#: Past the first slice, more distinct windows than this share of the rows joined: no more sharing (see join_window)
_UNIQUE = 0.9


async def join_window(
    into: Windows,
    table: ReportTable,
    level: Level,
    window: str,
    wanted: tuple[str, ...],
    *,
    rows_per_slice: int = _SLICE,
    aligned: Aligned | None = None,
) -> bool:
    """Put each row's ``wanted`` metrics into ``into[id][window]`` (read-only; a metric the report lacks is None),
    ``rows_per_slice`` rows at a time with a turn of the event loop in between (so granted requests leave on
    time). Rows without an id are skipped; of two rows with one id the last counts; rows with the same values
    share one window (see the module docstring), but for a report whose rows past the first slice nearly all
    differ. Ads are keyed by ``smart_plus_ad_id`` where a row has one (Upgraded Smart+), else by ``ad_id``.
    ``aligned``: the same for each of a level's reports (empty at first), so that a report listing the very ids
    of the one before puts its windows by row (:class:`~monitor.fetch_placing.Placing`); ``into`` must then
    change only there. A report read as its distinct rows is joined by :mod:`monitor.fetch_distinct`. Returns whether
    every float put is finite: as the table's reader vouches (``table.finite``), else checked here (False: some
    value is not, or the check cannot tell, and the store checks each entity)."""
    n = len(table)
    ids: Sequence[str] = table.dimensions.get(level.id_field, [""] * n)
    if level is Level.AD and SMART_PLUS_AD_DIMENSION in table.dimensions:
        ids = [smart or plain for smart, plain in zip(table.dimensions[SMART_PLUS_AD_DIMENSION], ids, strict=True)]
    absent = [None] * n
    columns = [table.metrics.get(name, absent) for name in wanted]
    finite = table.finite or finite_values(chain.from_iterable(columns))
    # the first slice's own values checked first, the whole columns only when sharing goes on past it (today's
    # window seldom does: its check saved)
    shared: Shared | None = {} if _shareable([c[:rows_per_slice] for c in columns]) else None
    place = Placing(into, ids, window, aligned)
    for start in range(0, n, rows_per_slice):
        if start:
            await asyncio.sleep(0)
            if shared is not None and len(shared) > _UNIQUE * start:
                shared = None  # nearly every row its own values (today's): sharing would only cost
            elif shared is not None and start == rows_per_slice and not _shareable(columns):
                shared = None  # the first slice's windows hold its own values; later rows get windows of their own
        stop = min(start + rows_per_slice, n)
        place.put(start, stop, slice_windows(columns, wanted, shared, start, stop))
    place.done()
    return finite


#: Windows already made, keyed by their row (a tuple), or by the value of a single column (see slice_windows).
Shared = dict[MetricValue | tuple[MetricValue, ...], Mapping[str, MetricValue]]


def slice_windows(
    columns: Sequence[Sequence[MetricValue]], wanted: tuple[str, ...], shared: Shared | None, start: int, stop: int
) -> list[Mapping[str, MetricValue]]:
    """The read-only window of each row ``start:stop`` of ``columns`` (``wanted`` its metrics' names, in order);
    with ``shared``, rows with equal values share one window (made once, kept there), else each its own."""
    frozen = ReadOnlyDict
    rows = zip(*(c[start:stop] for c in columns), strict=True) if columns else repeat((), stop - start)
    if shared is None:
        return list(map(frozen, map(zip, repeat(wanted), rows)))
    if len(columns) == 1:  # keyed by the value: no tuple per row
        get, keep, name = shared.get, shared.setdefault, wanted[0]
        return [get(value) or keep(value, frozen(((name, value),))) for value in columns[0][start:stop]]
    get, keep = shared.get, shared.setdefault  # (zip's strict= costs a third of the dict: lengths agree)
    return [get(row) or keep(row, frozen(zip(wanted, row))) for row in rows]  # noqa: B905


#: Puts a value into a :class:`ReadOnlyDict` being made (its own ``__setitem__`` refuses), in C.
_fill: Callable[[dict[str, Any], str, Any], None] = dict.__setitem__


def _shareable(columns: Sequence[Sequence[MetricValue]]) -> bool:
    """Whether rows of these columns whose values are equal (``==``, as tuples) have the very same values, so
    that they can share one window: each column holds one type besides None (0 == 0.0, and 0 is not 0.0) and,
    when it holds a zero, no negative float (-0.0 == 0.0). Checked a whole column at a time, in C."""
    for column in columns:
        kinds = set(map(type, column))
        kinds.discard(type(None))
        if len(kinds) > 1:
            return False
        if kinds == {float} and 0.0 in column:  # a -0.0 is == 0.0: is any float negative?
            floats = cast(Iterable[float], filter(_not_none, column))
            if min(map(copysign, repeat(1.0), floats)) < 0:
                return False
    return True


_not_none = partial(is_not, None)


def add_hours(
    into: Windows,
    ids: Sequence[str],
    hours: HourlyRows,
    windows: Mapping[str, tuple[str, ...]],
    now: datetime,
    zone: tzinfo,
) -> bool:
    """Put each of ``ids``' hourly ``windows`` (read-only) into ``into``; equal windows (the same values of the
    same types: most entities spent nothing in the last hours) are one shared window. Returns whether every
    float of them is finite (their sums and ratios are worked out here: finite hours can overflow)."""
    shared: dict[tuple[str, tuple[tuple[type, MetricValue], ...]], Mapping[str, MetricValue]] = {}
    finite = True
    for entity_id in ids:
        mine = into.get(entity_id)
        if mine is None:
            mine = into[entity_id] = ReadOnlyDict()
        for window, values in hours.values(entity_id, windows, now, zone).items():
            key = _exact(values.values())
            found = None if key is None else shared.get((window, key))
            if found is None:
                found = ReadOnlyDict(values)
                finite = finite and finite_values(values.values())
                if key is not None:
                    shared[(window, key)] = found
            _fill(mine, window, found)
    return finite


def finite_values(values: Iterable[Any]) -> bool:
    """Is every float of ``values`` finite? Summed in C: a sum of finite floats that overflows says no too (then
    the store checks each entity; no value is lost either way)."""
    return isfinite(sum(filter(_is_float, values)))


_is_float: Callable[[object], bool] = float.__instancecheck__


def _exact(values: Iterable[MetricValue]) -> tuple[tuple[type, MetricValue], ...] | None:
    """``values`` with their types, equal only for the same values of the same types; None when one is a float
    that is negative or not a number (-0.0 == 0.0, nan != nan): such windows are not shared."""
    key = []
    for value in values:
        if type(value) is float and (value != value or copysign(1.0, value) < 0):
            return None
        key.append((type(value), value))
    return tuple(key)


async def level_states(
    level: Level,
    advertiser_id: str,
    rows: list[EntityFields],
    windows: Windows,
    known: Mapping[EntityKey, Known] | None = None,
    *,
    rows_per_slice: int = _SLICE,
) -> list[EntityState]:
    """The states of one level's listed ``rows`` with their ``windows`` (handed over) sharing the strings of the
    ``known`` states (see :func:`~monitor.domain.building.build_states`), ``rows_per_slice`` at a time with a turn
    of the event loop in between. ``rows`` is handed over too, and emptied: each slice is let go once its states
    are built, so the rows' own id and name strings, where the known states lend theirs, are freed while the
    states are built and their memory serves the next ones (as when the rows were made to share them first)."""
    states: list[EntityState] = []
    rows.reverse()  # the slices taken off its end (no copy of the rest), each put back in the rows' order
    while rows:
        if states:
            await asyncio.sleep(0)
        chunk = rows[-rows_per_slice:]
        del rows[-rows_per_slice:]
        chunk.reverse()
        states += build_states(level, advertiser_id, chunk, windows, known)
        del chunk
    return states


def smart_plus(row: EntityFields) -> EntityFields:
    """An ad group's fields, marked part of an Upgraded Smart+ campaign."""
    entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, _ = row
    return (entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, True)


def entity_state(entity: Entity, metrics: Metrics | None = None) -> EntityState:
    """What campaign|adgroup|ad/get returned for one entity, with the report values for it, as the daemon's
    :class:`EntityState` (the general constructor: a poll builds its states with :func:`level_states`)."""
    return EntityState(
        level=entity.level,
        id=entity.id,
        advertiser_id=entity.advertiser_id,
        name=entity.name,
        operation_status=entity.operation_status,
        secondary_status=entity.secondary_status,
        budget=entity.budget,
        budget_mode=entity.budget_mode,
        campaign_id=entity.campaign_id,
        adgroup_id=entity.adgroup_id,
        metrics=ReadOnlyDict(metrics) if metrics else EMPTY,  # windows read-only already: not copied
        smart_plus=entity.smart_plus,
    )


def advertiser_state(advertiser: AdvertiserInfo, metrics: Metrics | None) -> EntityState:
    """The advertiser itself as an entity, with its report values."""
    return EntityState(
        level=Level.ADVERTISER,
        id=advertiser.id,
        advertiser_id=advertiser.id,
        name=advertiser.name,
        secondary_status=advertiser.status,
        metrics=metrics or {},
    )
