"""A report read as its distinct rows (:class:`~monitor.tiktok.report_table.DistinctRows`) joined into a level's
windows: what :func:`~monitor.fetch_states.join_window` makes of the same report read by columns, with a window
made once per distinct text of values, not per row (issue 18).

Rows with the same text have the same values, so they share one window; distinct texts with equal values (a
metric not wanted differs: a ratio's denominator) share one too where :func:`~monitor.fetch_states.join_window`
would share them (each column of one type besides None, no ``-0.0`` beside a ``0.0``). When every metric of the
report is wanted they are left apart: distinct texts are then distinct values but for another spelling (``0.0``
beside ``0.00``) or a ratio over a zero count (no data, whatever its text), too few to be worth a lookup each.
Each row's window is then a lookup of its text, in C, and goes where :class:`~monitor.fetch_placing.Placing`
puts a row's window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from itertools import chain

from monitor.domain import Level, MetricValue
from monitor.fetch_placing import Aligned, Placing, Windows
from monitor.fetch_states import Shared, _shareable, finite_values, slice_windows
from monitor.tiktok.report_table import DistinctRows

__all__ = ["join_distinct"]

_SLICE = 1000  # rows (or distinct texts) joined between two turns of the event loop


async def join_distinct(
    into: Windows,
    rows: DistinctRows,
    level: Level,
    window: str,
    wanted: tuple[str, ...],
    *,
    rows_per_slice: int = _SLICE,
    aligned: Aligned | None = None,
) -> bool:
    """Put each row's ``wanted`` metrics into ``into[id][window]`` as :func:`~monitor.fetch_states.join_window`
    puts a report's (the same arguments; ``rows``' ids are keys of ``level``'s entities: its id field's, or an
    ad's ``smart_plus_ad_id``), ``rows_per_slice`` rows or distinct texts at a time with a turn of the event
    loop in between. Returns whether every float put is finite (as ``join_window`` does)."""
    del level  # (rows are keyed by their dimension: the caller checked it is the level's)
    table = rows.table
    absent = [None] * len(rows.distinct)
    columns = [table.metrics.get(name, absent) for name in wanted]
    finite = table.finite or finite_values(chain.from_iterable(columns))
    share = not table.metrics.keys() <= set(wanted)  # (every metric wanted: distinct texts, distinct values)
    by_text = dict(zip(rows.distinct, await _windows(columns, wanted, share, rows_per_slice), strict=True))
    ids, keys, n = rows.ids, rows.keys, len(rows.ids)
    place = Placing(into, ids, window, aligned)
    for start in range(0, n, rows_per_slice):
        if start:
            await asyncio.sleep(0)
        stop = min(start + rows_per_slice, n)
        place.put(start, stop, list(map(by_text.__getitem__, keys[start:stop])))
    place.done()
    return finite


async def _windows(
    columns: Sequence[Sequence[MetricValue]], wanted: tuple[str, ...], share: bool, rows_per_slice: int
) -> list[Mapping[str, MetricValue]]:
    """The window of each distinct row of ``columns`` (read-only); with ``share``, equal ones shared where equal
    values are the same values (:func:`~monitor.fetch_states._shareable`); without, each its own (the module
    docstring)."""
    m = len(columns[0]) if columns else 0
    shared: Shared | None = {} if share and _shareable(columns) else None
    windows: list[Mapping[str, MetricValue]] = []
    for start in range(0, m, rows_per_slice):
        if start:
            await asyncio.sleep(0)
        windows += slice_windows(columns, wanted, shared, start, min(start + rows_per_slice, m))
    return windows
