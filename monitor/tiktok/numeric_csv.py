"""A report CSV whose cells are all numbers, read into columns by one JSON parse (issue 18).

An async report of 100,000 ads is a header line and 100,000 lines of ids and numbers (``1899300000000100000,6,0,
0.27,1.92,313,1.65``). Read by :mod:`csv`, every cell becomes a string object, the rows are transposed into
columns and each cell is parsed again; most of a second of CPU for the four reports of a 100,000-ad poll. Such a
body, its line ends turned into commas around a marker, is a JSON array of numbers: orjson reads it in one pass
of C, into the very values :func:`~monitor.tiktok.shape.parse_metric` gives each cell, and each column is then a
slice of that array. :func:`numeric_table` does so only where that holds, and answers None (read it with the
general reader, :func:`monitor.tiktok.reports.parse_csv_table`) at the first doubt:

* the body holds only ``0-9 . , - + e E`` and line ends (no quote, space, letter, or ``\\r`` but in ``\\r\\n``),
  so every cell is a JSON number, ``-`` (no data: ``null``, as parse_metric reads it) or not JSON at all (``""``,
  ``1.``, ``01``, ``+1``, ``--``: the parse fails); csv would read each line the same way, split at its commas;
* JSON's numbers are parse_metric's: an integer is an ``int`` of the same value (``-0`` is 0), a decimal or an
  exponent a ``float`` of the same value (orjson rounds as ``float()`` does). What differs is refused: a number
  beyond the 64-bit integers (orjson reads it as a float, parse_metric as an int) by the size of the column's
  values, a number too large for a float (orjson refuses it, parse_metric reads None) by the parse;
* every line has the header's number of cells (the markers must fall every ``width + 1`` values);
* a dimension is read as text: each must be an ``int`` other than 0, whose text is then its cell (JSON writes an
  integer one way, but for ``-0``); an attribute metric (a name, a status) is text too: refused;
* no line is longer than csv's field size limit (csv raises for such a cell).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, cast

import orjson

from monitor.domain import MetricValue
from monitor.tiktok.report_table import ReportTable, clear_undefined_ratio_columns
from monitor.tiktok.shape import ATTRIBUTE_METRICS

__all__ = ["numeric_table"]

#: What the body of an all-numbers CSV holds.
_NUMBER_BYTES = b"0123456789.,-+eE\n"
#: A row's marker in the JSON array: a value no cell can be (the body holds no quote), and no object for the
#: cyclic garbage collector to track.
_MARK = '""'
_LINE_END, _BETWEEN_ROWS = "\n", f",{_MARK},"
#: Beyond these, orjson's number is a float where parse_metric's is an int (or the column is not counts anyway).
_LARGEST = 2**63
#: A shorter field size limit (the default is 131,072) is left to csv.
_SHORTEST_LIMIT = 1024


def numeric_table(text: str, dimensions: Sequence[str]) -> ReportTable | None:
    """``text`` (a CSV with a header line and no byte order mark) as :func:`parse_csv_table` reads it, when its
    cells are all numbers (or ``-``) and its dimensions all integers; None when that is not certain."""
    checked = numeric_body(text)
    if checked is None:
        return None
    header, body = checked
    if any(name not in header for name in dimensions):
        return None  # the general reader says which
    rows, width = body.count("\n") + 1, len(header)
    read = json_cells([body], width)  # (one text: its lines are the rows)
    del body  # (only one copy of the text at a time besides the caller's)
    if read is None or len(read[0]) != rows * (width + 1) + 1:
        return None
    values, nulls = read
    step = width + 1  # a marker, then a row's cells
    dimension_set = set(dimensions)
    dims: dict[str, list[str]] = {}
    for i, name in enumerate(header):  # a repeated name: its last column counts, as in the general reader
        if name in dimension_set:
            column = values[i + 1 :: step]
            if set(map(type, column)) != {int} or 0 in column:
                return None  # a dimension read as a decimal, "-" or "-0": its text is not the number's
            dims[name] = _texts(column)
    metrics = metric_columns(values, [(i, n) for i, n in enumerate(header) if n not in dimension_set], step, nulls)
    return None if metrics is None else ReportTable(dims, metrics, finite=True)


def numeric_body(text: str) -> tuple[list[str], str] | None:
    """``text``'s header cells and its body (its rows' lines, blank ones at the end dropped), when every cell of
    the body is a number, ``-`` or not JSON at all, and no line is too long for csv (the module docstring); None
    when not."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    header_line, _, body = text.partition("\n")
    body = body.rstrip("\n")  # csv skips blank lines: those at the end; one inside makes ",," (no JSON)
    limit = csv.field_size_limit()
    if (
        not header_line
        or not body
        or any(c in header_line for c in '"\r\0')
        or len(header_line) >= limit
        or limit < _SHORTEST_LIMIT
        or not body.isascii()
        or body.encode("ascii").translate(None, _NUMBER_BYTES)  # anything else than number characters
        or _long_line(body, limit)
    ):
        return None
    return header_line.split(","), body


def json_cells(rows: Sequence[str], width: int) -> tuple[list[Any], bool] | None:
    """The cells of ``rows`` (texts of lines, or of several lines each) read by one JSON parse, each row after a
    marker and a last marker at the end (``width`` cells a row: ``len(rows) * (width + 1) + 1`` values, or more
    when a text holds several lines), and whether any cell is ``-`` (None); None when they are not JSON or a line
    has more or fewer than ``width`` cells (the markers are not every ``width + 1`` values)."""
    body = _BETWEEN_ROWS.join(rows).replace(_LINE_END, _BETWEEN_ROWS)
    document = f"[{_MARK},{body},{_MARK}]"  # each cell between two commas
    del body
    nulls = "-" in document and ",-," in document  # (one character: found at memchr's speed)
    if nulls:  # no data: null. Twice, as ",-,-," holds two that share a comma
        document = document.replace(",-,", ",null,").replace(",-,", ",null,")
    try:
        values = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    del document
    step = width + 1
    if len(values) % step != 1 or values[::step].count("") != len(values) // step + 1:
        return None
    return cast(list[Any], values), nulls


def metric_columns(
    values: list[Any], names: Sequence[tuple[int, str]], step: int, nulls: bool
) -> dict[str, list[MetricValue]] | None:
    """The metric columns of ``values`` (:func:`json_cells`' cells, a row every ``step``, ``nulls``: whether any is
    None; ``names``: each metric's position in a row and its name; a repeated name: its last column counts, an
    empty one is no column), ratios over a zero count cleared; None when one is an attribute metric (text) or
    holds a number beyond the 64-bit integers (the module docstring)."""
    metrics: dict[str, list[MetricValue]] = {}
    for i, name in names:
        if not name:
            continue
        column = values[i + 1 :: step]
        if name in ATTRIBUTE_METRICS or not _within(column, nulls):
            return None
        metrics[name] = column
    clear_undefined_ratio_columns(metrics)
    return metrics


def _within(column: list[Any], nulls: bool) -> bool:
    """Whether every number of ``column`` (None in it only if ``nulls``) is within the 64-bit integers (orjson
    reads one beyond as a float): its largest and smallest, of its numbers when it may hold None."""
    numbers = list(filter(None, column)) if nulls else column  # (no zero either: the bounds need none)
    return not numbers or (max(numbers) < _LARGEST and min(numbers) > -_LARGEST)


def _texts(integers: list[int]) -> list[str]:
    """``list(map(str, integers))`` (integers of 64 bits, as orjson reads them), from one text orjson writes of
    them all (written the way ``str`` writes each: digits, ``-`` before a negative one): a fifth less CPU."""
    try:
        return orjson.dumps(integers)[1:-1].decode("ascii").split(",") if integers else []
    except orjson.JSONEncodeError:  # (none past 64 bits reaches here: orjson read them)
        return list(map(str, integers))


def _long_line(body: str, limit: int) -> bool:
    """Whether ``body`` may have a line of ``limit`` characters or more: some stretch of ``limit // 2`` without a
    line end (any longer line holds one). A few ``find`` calls for a body of megabytes."""
    half = limit // 2
    return any(body.find("\n", start, start + half) < 0 for start in range(0, len(body) - half + 1, half))
