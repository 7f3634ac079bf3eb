"""A report CSV of ids and numbers read as its distinct rows: each row's id, and the values of each distinct text
of its cells after the id, parsed once (issue 18).

Most rows of a large account's reports repeat a few values (yesterday's cost per conversion, no spend in a week,
and today's too in the first hours of the day): parsed row by row, each such row's numbers are made, checked and
put into a window of their own only for that window to be found equal to another row's and dropped. Here each
line is split at its first comma into its id (its text: what csv reads) and the text of its values, and only the
distinct texts are read, by :mod:`monitor.tiktok.numeric_csv`'s one JSON parse under the same checks, into the
columns of a :class:`~monitor.tiktok.report_table.DistinctRows`; rows with the same text have the same values,
of the same types (``-0.0`` and ``0.0`` are two texts). A report whose first lines nearly all differ (today's,
later in the day) is left to the column reader (None): splitting its lines would cost more than it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter

from monitor.tiktok.numeric_csv import json_cells, metric_columns, numeric_body
from monitor.tiktok.report_table import DistinctRows, ReportTable

__all__ = ["KnownIds", "distinct_rows"]

#: The first this many characters of a report are its sample: when more than :data:`_UNIQUE` of the lines in it
#: differ, the report is read by columns (a sample of some 1,500 lines of a usual report).
_SAMPLE = 65_536
_UNIQUE = 0.9
_id_of, _rest_of = itemgetter(0), itemgetter(2)


class KnownIds:
    """The ids of a level's report read before (the aligned one: :class:`~monitor.fetch_placing.Aligned`): a
    later report whose lines start with the very same ids, in the same order, is split by them (:meth:`split`),
    not at each line's first comma, and its rows' ids are this very list: no string made per id, and a join
    that finds them the same ids at once (``is``)."""

    __slots__ = ("_length", "_prefixes", "ids")

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = ids
        self._prefixes: list[str] | None = None
        self._length = 0

    def split(self, lines: Sequence[str]) -> list[str] | None:
        """The text of each line after its id and comma, when line ``i`` starts with ``ids[i]`` and a comma, for
        every ``i``; None when not (an id with a comma in it: never). ``str.removeprefix`` removes all of a prefix
        or nothing, so the lines lost the prefixes' length in all only if each lost its own."""
        if len(lines) != len(self.ids):
            return None
        if self._prefixes is None:
            if "," in "".join(self.ids):
                return None
            self._prefixes = list(map(str.__add__, self.ids, repeat(",")))
            self._length = sum(map(len, self._prefixes))
        keys = list(map(str.removeprefix, lines, self._prefixes))
        return keys if sum(map(len, lines)) - sum(map(len, keys)) == self._length else None


def distinct_rows(text: str, dimension: str, known: KnownIds | None = None) -> DistinctRows | None:
    """``text`` (a CSV with a header line and no byte order mark) as its distinct rows, when its one dimension,
    ``dimension``, is its first column, its cells are all numbers (or ``-``, no data) and its rows repeat values
    enough; None when not (or not certain): then :func:`~monitor.tiktok.numeric_csv.numeric_table` or the
    general reader reads it, into the same values. ``known``: the ids of a report of the same level read before,
    which this one likely lists again (:class:`KnownIds`)."""
    sample = text[:_SAMPLE].split("\n")[1:-1]  # (whole lines only)
    if not sample or len(set(map(_rest_of, map(str.partition, sample, repeat(","))))) > _UNIQUE * len(sample):
        return None
    checked = numeric_body(text)
    if checked is None:
        return None
    header, body = checked
    if header[0] != dimension or header.count(dimension) != 1:
        return None  # (a repeated dimension: its last column counts, as the column readers read it)
    lines = body.split("\n")
    del body
    keys = None if known is None else known.split(lines)
    if keys is not None and known is not None:
        ids = known.ids
    else:
        parts = list(map(str.partition, lines, repeat(",")))
        ids, keys = list(map(_id_of, parts)), list(map(_rest_of, parts))
        del parts
    del lines
    distinct = list(dict.fromkeys(keys))
    width = len(header) - 1  # a row's cells after its id
    read = json_cells(distinct, width)  # (a line without a comma, or a blank one, has no cells: not JSON)
    if read is None or len(read[0]) != len(distinct) * (width + 1) + 1:
        return None
    values, nulls = read
    metrics = metric_columns(values, list(enumerate(header[1:])), width + 1, nulls)
    if metrics is None:
        return None
    return DistinctRows(dimension, ids, keys, distinct, ReportTable({}, metrics, finite=True))
