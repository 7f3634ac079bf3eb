"""The hot path's parsers read exactly what the general ones read (issue 18: faster, never different).

* :func:`monitor.fastjson.loads` (orjson) against :func:`json.loads`, including what orjson refuses;
* :func:`monitor.fastjson.dumps` refuses NaN and the infinities as the store always did;
* :func:`monitor.tiktok.shape.parse_metric_text` against :func:`parse_metric` for any text;
* the CSV report parser (by column position) against a csv.DictReader reading of the same text.
"""

from __future__ import annotations

import csv
import io
import json
import math
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain.ratios import without_undefined_ratios
from monitor.tiktok.models import Report, ReportRow
from monitor.tiktok.report_table import metric_column
from monitor.tiktok.reports import parse_csv_report, parse_csv_table
from monitor.tiktok.shape import parse_metric, parse_metric_text


def same(a: object, b: object) -> bool:
    """Equal and of the same type (0 and 0.0 differ; NaN equals NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    "text",
    [
        '{"code": 0, "data": {"list": [{"ad_id": 1790000000000000001, "name": "Été ☀"}]}}',
        '{"a": NaN, "b": Infinity}',  # orjson refuses these; the standard library reads them
        '{"name": "\\ud800 lone surrogate"}',
        '{"a": 1, "a": 2}',
        '{"spend": "12.50", "n": 9007199254740993}',
    ],
)
def test_loads_reads_what_the_standard_library_reads(text: str) -> None:
    expected = json.loads(text)
    for given_ in (text, text.encode()):
        got = fastjson.loads(given_)
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_loads_refuses_what_is_not_json_with_a_value_error() -> None:
    with pytest.raises(ValueError):
        fastjson.loads(b"<html>502 Bad Gateway</html>")


def test_dumps_is_canonical_and_reads_back() -> None:
    value = MappingProxyType({"b": MappingProxyType({"spend": 1.5, "clicks": 0}), "a": {"ctr": None, "x": 0.0}})
    text = fastjson.dumps(value)
    assert text == '{"a":{"ctr":null,"x":0.0},"b":{"clicks":0,"spend":1.5}}'
    back = json.loads(text)
    assert same(back["b"]["clicks"], 0) and same(back["a"]["x"], 0.0) and back["a"]["ctr"] is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_nan_and_infinities(bad: float) -> None:
    with pytest.raises(ValueError):
        fastjson.dumps({"today": {"spend": bad, "name": "null"}})


def test_dumps_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        fastjson.dumps({"x": object()})


CELLS = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789+-.,%_eE -", max_size=12),
    st.sampled_from(["-", "--", "N/A", "null", "", " 12 ", "1_000", "1,234.5", "12%", "nan", "inf", "1e400", "0012"]),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@given(name=st.sampled_from(["spend", "ctr", "clicks", "objective_type"]), cell=CELLS)
@settings(max_examples=600, deadline=None)
def test_parse_metric_text_reads_every_cell_as_parse_metric_does(name: str, cell: str) -> None:
    assert same(parse_metric_text(name, cell), parse_metric(name, cell))


def dict_reader_rows(text: str, dimensions: tuple[str, ...]) -> list[tuple[dict[str, str], dict[str, object]]]:
    """The reading before issue 18 (csv.DictReader, a dict per row), as the reference."""
    out = []
    for record in csv.DictReader(io.StringIO(text)):
        dims = {k: (v or "") for k, v in record.items() if k in dimensions}
        metrics = {k: parse_metric(k, v) for k, v in record.items() if k and k not in dimensions}
        out.append((dims, without_undefined_ratios(metrics)))
    return out


ROWS = st.lists(
    st.lists(st.sampled_from(["0", "12", "3.5", "-", "", "1,200", "0.00", "7%"]), min_size=0, max_size=7),
    max_size=8,
)


@given(rows=ROWS)
@settings(max_examples=300, deadline=None)
def test_the_csv_report_reads_as_a_dict_reader_did(rows: list[list[str]]) -> None:
    header = ["ad_id", "spend", "clicks", "cpc", "impressions", "ctr"]
    lines = [",".join(header)]
    for i, cells in enumerate(rows):  # short rows, long rows and blank lines included
        lines.append(",".join([f"17{i}", *cells]) if cells or i % 2 else "")
    text = "\r\n".join(lines) + "\r\n"
    got = [(dict(r.dimensions), dict(r.metrics)) for r in parse_csv_report(text, ("ad_id",))]
    expected = dict_reader_rows(text, ("ad_id",))
    assert len(got) == len(expected)
    for (dims, metrics), (want_dims, want_metrics) in zip(got, expected, strict=True):
        assert dims == want_dims
        assert metrics.keys() == want_metrics.keys()
        assert all(same(metrics[k], want_metrics[k]) for k in metrics), (metrics, want_metrics)


COLUMNS = st.one_of(
    st.lists(st.integers(0, 10**6).map(str), max_size=6),  # whole columns of integers: converted at once
    st.lists(st.decimals(0, 10**6, places=2).map(str), max_size=6),  # ... of decimals
    st.lists(st.one_of(CELLS, st.none()), max_size=6),  # anything else: cell by cell
    st.lists(st.sampled_from(["1" * 301, "12.5", "7"]), max_size=4),  # too long for the whole-column path
)


@given(name=st.sampled_from(["spend", "clicks", "objective_type"]), cells=COLUMNS)
@settings(max_examples=400, deadline=None)
def test_a_metric_column_reads_each_cell_as_parse_metric_does(name: str, cells: list[str | None]) -> None:
    got = metric_column(name, cells)
    expected = [None if c is None else parse_metric(name, c) for c in cells]
    assert len(got) == len(expected) and all(same(a, b) for a, b in zip(got, expected, strict=True))


def test_a_report_as_rows_and_as_columns_is_the_same_report() -> None:
    text = "ad_id,spend,clicks,cpc\r\n1,2.50,0,0.10\r\n2,-,4,0.5\r\n"
    rows, table = parse_csv_report(text, ("ad_id",)), parse_csv_table(text, ("ad_id",))
    assert Report(table=table).rows == rows  # rows built from the columns
    assert Report(rows).table == table  # columns built from the rows
    assert table.metrics["cpc"] == [None, 0.5]  # a ratio over zero clicks is no data
    with pytest.raises(ValueError):
        Report()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('ad_id,spend\n1,"1\n2"\n2,3\n', [("1", None), ("2", 3)]),  # a quoted line break: no number, no crash
        ('ad_id,spend\n1,"4.5"\n2,"1.0\n2.0"\n', [("1", 4.5), ("2", None)]),
        ("\ufeffad_id,spend\n1,2\n", [("1", 2)]),  # a byte order mark
        ("ad_id,spend,spend\n1,2,3\n", [("1", 3)]),  # a repeated column: its last cell, as DictReader
    ],
)
def test_csv_cells_that_are_not_plain_read_as_parse_metric_reads_them(
    text: str, expected: list[tuple[str, object]]
) -> None:
    rows = parse_csv_report(text, ("ad_id",))
    assert [(r.dimensions["ad_id"], r.metrics["spend"]) for r in rows] == expected
    assert rows == tuple(ReportRow(d, m) for d, m in dict_reader_rows(text.lstrip("\ufeff"), ("ad_id",)))


def test_a_report_of_dimensions_only_has_rows_without_metrics() -> None:
    rows = parse_csv_report("campaign_id\n1\n2\n", ("campaign_id",))
    assert [(dict(r.dimensions), dict(r.metrics)) for r in rows] == [
        ({"campaign_id": "1"}, {}),
        ({"campaign_id": "2"}, {}),
    ]


def test_dumps_writes_integers_past_64_bits_exactly() -> None:
    text = fastjson.dumps({"today": {"impressions": 2**64 + 1, "spend": 1.5}})
    assert json.loads(text) == {"today": {"impressions": 2**64 + 1, "spend": 1.5}}
    with pytest.raises(ValueError):
        fastjson.dumps({"today": {"impressions": 2**64, "spend": math.nan}})
