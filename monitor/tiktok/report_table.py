"""A report: its rows (:class:`ReportRow`, :class:`Report`) or its columns (:class:`ReportTable`, issue 18), what a
100,000-row CSV is read into and what a poll joins into its entities.

A row per object (a dict of dimensions and a dict of metrics for each of 100,000 ads) cost more than everything
else in reading a report. Here each column is one list, rows aligned by position, and a column whose cells are
all integers or all decimals (the usual case: ``spend`` is ``"12.34"`` throughout, ``clicks`` ``"7"``) is
converted in one pass of C code (``map(float, ...)``), checked afterwards (:func:`metric_column`).
Any other column is read cell by cell with :func:`~monitor.tiktok.shape.parse_metric_text`, so every cell reads
exactly as :func:`~monitor.tiktok.shape.parse_metric` reads it ("-" is no data, never 0; a ratio over a zero count
is no data: :mod:`monitor.domain.ratios`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from math import isfinite
from operator import not_
from typing import Any, Protocol, cast

from monitor.domain import MetricValue
from monitor.domain.ratios import ratio_pairs
from monitor.tiktok.shape import ATTRIBUTE_METRICS, parse_metric_text

__all__ = ["DistinctRows", "Report", "ReportRow", "ReportTable", "Unread", "metric_column"]

_NUMBERS = (int, float)
_PLAIN_COUNTS = frozenset({int, float, type(None)})

#: One row: its dimensions and its metrics.
Record = tuple[Mapping[str, str], Mapping[str, MetricValue]]


@dataclass(frozen=True)
class ReportTable:
    """Columns of one report: dimension values (strings, "" when missing) and parsed metrics, equal lengths.
    ``finite``: every float of ``metrics`` is finite, as the reader that made the table guarantees (the CSV
    readers do: :func:`metric_column` and parse_metric read a value that is not as no data, and JSON has no such
    numbers); False when not known (whoever needs it checks). Not part of equality."""

    dimensions: Mapping[str, Sequence[str]]
    metrics: Mapping[str, Sequence[MetricValue]]
    finite: bool = field(default=False, compare=False)

    def __len__(self) -> int:
        for column in (*self.dimensions.values(), *self.metrics.values()):
            return len(column)
        return 0

    def records(self) -> Iterator[tuple[dict[str, str], dict[str, MetricValue]]]:
        """Each row as (dimensions, metrics) dicts, in order."""
        dims, names, n = tuple(self.dimensions), tuple(self.metrics), len(self)
        dim_rows = zip(*self.dimensions.values(), strict=True) if dims else repeat((), n)
        metric_rows = zip(*self.metrics.values(), strict=True) if names else repeat((), n)
        for dim_values, values in zip(dim_rows, metric_rows, strict=True):
            yield dict(zip(dims, dim_values, strict=True)), dict(zip(names, values, strict=True))

    @classmethod
    def from_records(
        cls,
        dimensions: Sequence[str],
        metrics: Sequence[str],
        records: Sequence[tuple[Mapping[str, str], Mapping[str, MetricValue]]],
    ) -> ReportTable:
        """Columns from rows of dicts (a JSON report's rows); a value a row lacks is "" / None."""
        return cls(
            {name: [dims.get(name, "") for dims, _ in records] for name in dimensions},
            {name: [values.get(name) for _, values in records] for name in metrics},
        )


@dataclass(frozen=True)
class DistinctRows:
    """A report of one dimension as its rows' ids and their distinct values (:mod:`monitor.tiktok.distinct_csv`):
    row ``i`` has the id ``ids[i]`` (the dimension's text) and the values of ``keys[i]`` (the text of its cells),
    which is ``distinct[j]`` for one ``j``, the ``j``-th row of ``table`` (its metric columns: one row per
    distinct text, in the order first seen; no dimension). Its rows read as :class:`ReportTable`'s would."""

    dimension: str
    ids: Sequence[str]
    keys: Sequence[str]
    distinct: Sequence[str]
    table: ReportTable

    def __len__(self) -> int:
        return len(self.ids)

    def expanded(self) -> ReportTable:
        """The same rows as a :class:`ReportTable` (each row's values repeated)."""
        row_of = dict(zip(self.distinct, range(len(self.distinct)), strict=True))
        rows = [row_of[key] for key in self.keys]
        metrics = {name: [column[j] for j in rows] for name, column in self.table.metrics.items()}
        return ReportTable({self.dimension: list(self.ids)}, metrics, finite=self.table.finite)


def metric_column(name: str, cells: Sequence[str | None]) -> list[MetricValue]:
    """One metric's cells parsed (None for a cell the row did not have), each as
    :func:`~monitor.tiktok.shape.parse_metric` reads it. A column that ``int()`` reads whole, with no ``_`` in any
    cell, is those ints (``int()`` then reads exactly what parse_metric reads as an integer: sign, digits and
    spaces around them); one that ``float()`` reads whole, with one ``.`` in each cell (none an integer to
    parse_metric) and all finite, is those floats. Any other goes cell by cell."""
    if name not in ATTRIBUTE_METRICS and cells and None not in cells:
        texts = cast(Sequence[str], cells)  # no None: checked
        try:
            ints: list[MetricValue] = list(map(int, texts))
        except ValueError:
            pass
        else:
            if "_" not in "".join(texts):  # int("1_000") is 1000, parse_metric("1_000") 1000.0
                return ints
        try:
            floats = list(map(float, texts))
        except ValueError:
            pass
        else:  # a sum that is not finite: some value is not (or they overflow together: cell by cell then)
            if "".join(texts).count(".") == len(texts) and isfinite(sum(floats)):
                return cast(list[MetricValue], floats)
    return [None if cell is None else parse_metric_text(name, cell) for cell in cells]


def clear_undefined_ratio_columns(metrics: dict[str, list[MetricValue]]) -> None:
    """In place, column-wise: a ratio whose denominator (in the same row) is zero or missing becomes None
    (:func:`monitor.domain.ratios.clear_undefined_ratios`, per column)."""
    for name, denominator in ratio_pairs(metrics):
        counts, values = metrics[denominator], metrics[name]
        if None not in counts and 0 not in counts:
            continue  # no zero and no missing count (0 in counts: == 0, so 0.0 and -0.0 too): nothing to clear
        if len(values) == len(counts) and set(map(type, counts)) <= _PLAIN_COUNTS:
            # numbers and None: the zero and missing counts are the false ones; set those rows' values to None in C
            cleared = list(values)
            deque(map(cleared.__setitem__, compress(count(), map(not_, counts)), repeat(None)), maxlen=0)
            metrics[name] = cleared
            continue
        metrics[name] = [
            None if n is None or (type(n) in _NUMBERS and n == 0) else value
            for value, n in zip(values, counts, strict=True)
        ]


@dataclass(frozen=True)
class ReportRow:
    """One row of a report: the dimension values (strings) and the parsed metrics."""

    dimensions: Mapping[str, str]
    metrics: Mapping[str, MetricValue]


class Unread(Protocol):
    """A report's body not read yet (an async report's CSV text, checked but not parsed): :meth:`read` makes its
    table, raising only what reading that body can raise."""

    def read(self) -> ReportTable: ...


class UnreadDistinct(Unread, Protocol):
    """An unread body that can be read as its distinct rows too (:meth:`distinct`: None when it cannot tell)."""

    def distinct(self, known: Any) -> DistinctRows | None: ...


class Report:
    """All pages of one report, as rows (:class:`ReportRow`) or as columns (:class:`ReportTable`, what an async
    report's CSV is read into); either form is built from the other when first asked for. ``truncated`` is set
    when TikTok capped the rows (20,000-ad limit).

    Built from an ``unread`` body (an async report's CSV), the table is read when first asked for, and
    :meth:`table_off_loop` reads it in a thread: a poll that holds several 100,000-ad reports until its ad list
    has come holds their texts (some 3 MB each) rather than their columns (some 18 MB each), and reads each when
    it joins it (issue 18: the peak of memory of a warm 100,000-ad poll was there)."""

    __slots__ = ("_rows", "_table", "_unread", "request_ids", "truncated")

    def __init__(
        self,
        rows: Sequence[ReportRow] | None = None,
        truncated: bool = False,
        request_ids: tuple[str, ...] = (),
        *,
        table: ReportTable | None = None,
        unread: Unread | None = None,
    ) -> None:
        if sum(form is not None for form in (rows, table, unread)) != 1:
            raise ValueError("a report is built from rows, from a table or from an unread body, one of them")
        self._rows = None if rows is None else tuple(rows)
        self._table = table
        self._unread = unread
        self.truncated = truncated
        self.request_ids = request_ids

    @property
    def rows(self) -> tuple[ReportRow, ...]:
        if self._rows is None:
            self._rows = tuple(ReportRow(dimensions=d, metrics=m) for d, m in self.table.records())
        return self._rows

    @property
    def table(self) -> ReportTable:
        unread = self._unread  # (once: another reader may let it go meanwhile; one reader at a time is the use)
        if self._table is None and unread is not None:
            self._table, self._unread = unread.read(), None  # (the body let go once read)
        if self._table is None:
            rows = self.rows
            dims = list(dict.fromkeys(name for row in rows for name in row.dimensions))
            names = list(dict.fromkeys(name for row in rows for name in row.metrics))
            self._table = ReportTable.from_records(dims, names, [(r.dimensions, r.metrics) for r in rows])
        return self._table

    async def table_off_loop(self) -> ReportTable:
        """:attr:`table`, read in a thread when the body is not read yet (a 100,000-row CSV: about 0.1 s)."""
        if self._table is None and self._unread is not None:
            return await asyncio.to_thread(getattr, self, "table")
        return self.table

    async def distinct_off_loop(self, known: Any = None) -> DistinctRows | None:
        """The report as its distinct rows (:class:`DistinctRows`, read in a thread; ``known``: the ids it likely
        lists, :class:`~monitor.tiktok.distinct_csv.KnownIds`), when its body is not read yet and can be read so
        (an async report's usual CSV); None when not: read :attr:`table` (or :attr:`rows`) then. The body is
        kept: read so, the report is read again if its table is asked for."""
        unread = self._unread
        if self._table is not None or not callable(getattr(unread, "distinct", None)):
            return None
        return await asyncio.to_thread(cast(UnreadDistinct, unread).distinct, known)

    def __len__(self) -> int:
        return len(self.rows) if self._rows is not None else len(self.table)

    def __repr__(self) -> str:
        return f"Report({len(self)} rows, truncated={self.truncated})"
