"""An async report's CSV read by one JSON parse (monitor.tiktok.numeric_csv) is the table the csv module's reading
(``csv_table``) makes of it: the same columns, values and types (0 stays int 0, 0.0 a float, -0.0 negative, "-"
no data, never 0), and where the fast reading is not certain it steps aside, so a malformed CSV fails the same
way. Also the column-at-once conversions of the general reading (metric_column, ratios over zero counts) against
parse_metric and the row-wise ratio rule."""

from __future__ import annotations

import csv
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.domain.ratios import without_undefined_ratios
from monitor.tiktok.errors import BadResponseError
from monitor.tiktok.numeric_csv import _texts, numeric_table
from monitor.tiktok.report_table import ReportTable, clear_undefined_ratio_columns, metric_column
from monitor.tiktok.reports import csv_table, parse_csv_table
from monitor.tiktok.shape import parse_metric


def exact(value: Any) -> tuple[str, str]:
    """A value with its type; repr tells -0.0 from 0.0 and a float from an int."""
    return (type(value).__name__, repr(value))


def shown(table: ReportTable) -> tuple[list[Any], list[Any]]:
    dims = [(name, [exact(v) for v in column]) for name, column in table.dimensions.items()]
    metrics = [(name, [exact(v) for v in column]) for name, column in table.metrics.items()]
    return dims, metrics


def outcome(read: Any, text: str, dims: tuple[str, ...]) -> Any:
    """The table read, or the error raised (its type and message)."""
    try:
        return shown(read(text, dims))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def same_as_csv(text: str, dims: tuple[str, ...] = ("ad_id",)) -> Any:
    got = outcome(parse_csv_table, text, dims)
    assert got == outcome(csv_table, text.lstrip("\ufeff"), dims)
    return got


SANDBOX_LIKE = (
    "ad_id,clicks,conversion,cpc,ctr,impressions,spend\n"
    "1899300000000100000,6,0,0.27,1.92,313,1.65\n"
    "1899300000000099999,0,0,0.00,0.00,0,0.00\n"
    "1899300000000099998,-,1,-,-0.0,-0,1e2\n"
)


def test_a_report_of_ids_and_numbers_is_read_by_one_json_parse() -> None:
    table = numeric_table(SANDBOX_LIKE, ("ad_id",))
    assert table is not None  # the fast reading is taken
    assert table.dimensions == {"ad_id": ["1899300000000100000", "1899300000000099999", "1899300000000099998"]}
    assert shown(table)[1] == [
        ("clicks", [exact(6), exact(0), exact(None)]),
        ("conversion", [exact(0), exact(0), exact(1)]),
        ("cpc", [exact(0.27), exact(None), exact(None)]),  # over zero clicks, over no clicks: no data
        ("ctr", [exact(1.92), exact(None), exact(None)]),  # over zero impressions (and "-0" is 0)
        ("impressions", [exact(313), exact(0), exact(0)]),
        ("spend", [exact(1.65), exact(0.0), exact(100.0)]),
    ]
    assert same_as_csv(SANDBOX_LIKE) == shown(table)
    no_data = "ad_id,spend,clicks,cpc\n1,-,-,-\n-1,-,-,1\n"  # "-" cells side by side, first and last
    assert numeric_table(no_data, ("ad_id",)) is not None and same_as_csv(no_data)[1] == [
        ("spend", [exact(None)] * 2),
        ("clicks", [exact(None)] * 2),
        ("cpc", [exact(None)] * 2),
    ]
    crlf = SANDBOX_LIKE.replace("\n", "\r\n")
    assert numeric_table(crlf, ("ad_id",)) is not None and same_as_csv(crlf) == shown(table)


@pytest.mark.parametrize(
    "text",
    [
        "ad_id,spend\n1,2\n\n3,4\n",  # a blank line inside: no row (csv skips it)
        "ad_id,spend\n\n1,2\n",
        "ad_id,spend\n1,2\n3\n4,5,6\n",  # a short row and a long one
        "ad_id,spend\n1,2,3\n4\n",
        'ad_id,spend\n1,"2"\n',  # quotes
        '"ad_id",spend\n1,2\n',
        "ad_id,spend\n1, 2\n",  # a space: a dimension's text would not be its number
        "ad_id,spend\n 1,2\n",
        "ad_id,spend\n007,2\n",  # not JSON numbers: "007", "+1", "1.", ".5", "--", "1_0"
        "ad_id,spend\n1,+1\n",
        "ad_id,spend\n1,1.\n",
        "ad_id,spend\n1,.5\n",
        "ad_id,spend\n1,--\n",
        "ad_id,spend\n1,1_0\n",
        "ad_id,spend\n-0,1\n",  # a dimension "-0" is not "0"
        "ad_id,spend\n0,1\n",
        "ad_id,spend\n1.5,1\n",  # a dimension that is a decimal
        "ad_id,spend\n-,1\n",  # a dimension "-"
        "ad_id,spend\n1,18446744073709551616\n",  # past 64 bits: orjson reads a float, parse_metric an int
        "ad_id,spend\n1,-9223372036854775809\n",
        "ad_id,spend\n1,9223372036854775808\n",
        "ad_id,spend\n1,1e400\n",  # too large for a float: no data
        "ad_id,spend\n1,-1e400\n",
        "ad_id,spend\n1,1e-400\n",
        "ad_id,spend\n1,-1e-400\n",
        "ad_id,spend\n1,NaN\n",
        "ad_id,spend\n1,null\n",
        "ad_id,spend\n1,true\n",
        "ad_id,spend\n1,[]\n",
        "ad_id,spend\n1,{}\n",
        "ad_id,spend\n1,2\r3,4\n",  # a lone carriage return: csv raises
        "ad_id,spend\r1,2\n",
        "ad_id,spend\n1,\x002\n",
        "ad_id,spe\x00nd\n1,2\n",
        "ad_id,campaign_name\n1,2\n",  # an attribute metric is text
        "ad_id,spend,spend\n1,2,3\n",  # a repeated column: its last
        "ad_id,,spend\n1,2,3\n",  # a column without a name
        "spend\n1\n",  # no dimension column: the error names it
        "ad_id\n1\n2\n",  # dimensions only
        "ad_id,spend\n",  # a header only
        "ad_id,spend",
        "\nad_id,spend\n1,2\n",  # a blank first line: no header
        "\ufeffad_id,spend\n1,2\n",
        "ad_id,cpc,clicks\n1,-,0\n2,0.5,-\n3,0.25,2\n",
        "ad_id,spend\n1,٣\n",  # digits of other scripts
    ],
)
def test_what_the_fast_reading_does_not_take_reads_as_csv_reads_it(text: str) -> None:
    same_as_csv(text)


def test_a_field_past_csv_s_size_limit_fails_as_csv_fails() -> None:
    cell = "0." + "0" * csv.field_size_limit() + "1"  # JSON would read 0.0; csv refuses the field
    text = f"ad_id,spend\n1,2\n2,{cell}\n"
    with pytest.raises(csv.Error, match="field larger than field limit"):
        parse_csv_table(text, ("ad_id",))
    assert numeric_table(f"ad_id,spend\n1,{'1' * 70_000}.5\n", ("ad_id",)) is None  # a long line: left to csv
    with pytest.raises(csv.Error, match="field larger than field limit"):  # a column name too long
        parse_csv_table(f"ad_id,{'x' * (csv.field_size_limit() + 1)}\n1,2\n", ("ad_id",))


def test_a_missing_dimension_is_named_as_before() -> None:
    with pytest.raises(BadResponseError, match="CSV header has no column ad_id"):
        parse_csv_table("campaign_id,spend\n1,2\n", ("ad_id",))


# Cells of every kind: numbers in many spellings (most of them JSON, so the fast reading is taken often), no
# data, and what is neither (text, quotes, spaces, a comma or line break inside quotes).
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),  # 1e-05, -0.0, 1.7976931348623157e+308
    st.decimals(-(10**9), 10**9, places=2).map(str),
    st.builds(lambda i, f: f"{i}.{f}", st.integers(0, 10**12), st.integers(0, 10**25)),  # long fractions
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-400, 400)),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "0.00", "-", "1E5", "1e+5", "2.5E-3", "18446744073709551615"]),
)
ODD = st.one_of(
    st.sampled_from(["", "--", "N/A", "null", "nan", "NaN", "inf", "-inf", "1_000", "+5", "007", "1.", ".5", " 7"]),
    st.sampled_from(['"1,5"', '"2\n3"', '"x"', "12%", "1,234", "true", "[1]", "\x00", "٣", "1e400"]),
    st.text(max_size=4),
)
IDS = st.one_of(
    st.integers(1, 2**64).map(str),
    st.sampled_from(["0", "-0", "-1", "007", "1.5", "-", "", "x", " 9", "1e3"]),
)


@st.composite
def csv_texts(draw: st.DrawFn, odd: bool) -> str:
    names = draw(
        st.lists(
            st.sampled_from(["spend", "clicks", "cpc", "ctr", "impressions", "conversion", "campaign_name", "spend"]),
            max_size=5,
        )
    )
    position = draw(st.integers(0, len(names)))
    header = [*names[:position], "ad_id", *names[position:]]
    cell = st.one_of(NUMBERS, ODD) if odd else NUMBERS
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 6))):
        cells = [draw(IDS if name == "ad_id" else cell) for name in header]
        if odd and draw(st.integers(0, 9)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))] or [""]  # a short row or a blank line
        lines.append(",".join(cells))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + draw(st.sampled_from(["", end, end * 2]))
    return ("\ufeff" if draw(st.booleans()) else "") + text


@given(text=csv_texts(odd=False))
@settings(max_examples=500, deadline=None)
def test_a_csv_of_numbers_reads_as_the_csv_module_reads_it(text: str) -> None:
    same_as_csv(text)


@given(text=csv_texts(odd=True))
@settings(max_examples=500, deadline=None)
def test_any_csv_reads_as_the_csv_module_reads_it(text: str) -> None:
    same_as_csv(text)


@given(rows=st.lists(st.tuples(st.integers(1, 2**62), NUMBERS, NUMBERS), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_numbers_and_ids_are_read_by_the_fast_reading(rows: list[tuple[int, str, str]]) -> None:
    """Ids and JSON numbers (or "-"), none past 2**63 nor too large for a float: the fast reading, the same table."""
    text = "ad_id,spend,clicks\n" + "".join(f"{i},{a},{b}\n" for i, a, b in rows)
    if all(abs(float(v)) < 2**63 for _, *values in rows for v in values if v != "-"):
        table = numeric_table(text, ("ad_id",))
        assert table is not None and shown(table) == outcome(csv_table, text, ("ad_id",))
    else:
        same_as_csv(text)


COLUMN_CELLS = st.one_of(
    NUMBERS,
    st.sampled_from([" 12 ", "\t7\n", "+3", "-0", "1_000", "1_0.5", "1.5e400", "-1.5e400", "١٢", "١.٥", "\u20071"]),
    st.sampled_from(["inf", "nan", "1e5", "12%", "", "-", "0x10", "1.2.3", "1e308", "9" * 30]),
)


@given(name=st.sampled_from(["spend", "clicks", "campaign_name"]), data=st.data())
@settings(max_examples=500, deadline=None)
def test_a_column_converted_whole_reads_each_cell_as_parse_metric_does(name: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from([NUMBERS, COLUMN_CELLS, st.integers(-(10**30), 10**30).map(str)]))
    cells = data.draw(st.lists(kind, max_size=6))
    got = metric_column(name, cells)
    assert [exact(v) for v in got] == [exact(parse_metric(name, c)) for c in cells]


@pytest.mark.parametrize(
    "cells",
    [
        ["1_000"],  # int() reads it, parse_metric reads a float
        ["1_000", "7"],
        ["1_0.5", "2.5"],
        [" 12 ", "+3", "-0", "\u20071", "١٢"],  # spaces, signs, digits of other scripts: ints for both
        ["1.5", "2"],  # float() reads both, parse_metric an int for "2"
        ["1.5e400", "2.5"],  # too large: no data
        ["-0.0", "0.0", "0.5e-400"],
        ["1e5", "2.5"],
    ],
)
def test_whole_columns_of_odd_numbers_read_as_parse_metric_reads_them(cells: list[str]) -> None:
    assert [exact(v) for v in metric_column("spend", cells)] == [exact(parse_metric("spend", c)) for c in cells]


def test_a_column_of_more_digits_than_int_reads_fails_as_parse_metric_fails() -> None:
    cells = ["1", "9" * 5000]
    with pytest.raises(ValueError, match="Exceeds the limit"):
        parse_metric("clicks", cells[1])
    with pytest.raises(ValueError, match="Exceeds the limit"):
        metric_column("clicks", cells)


COUNTS = st.sampled_from([0, 0.0, -0.0, 1, 2.5, None, math.nan, False, True, "0", "x"])


@given(data=st.data())
@settings(max_examples=400, deadline=None)
def test_ratios_over_zero_counts_clear_as_row_by_row(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 8))
    plain = st.sampled_from([0, 0.0, -0.0, 3, 1.5, None])
    counts = data.draw(
        st.lists(st.one_of(plain, COUNTS) if data.draw(st.booleans()) else plain, min_size=n, max_size=n)
    )
    values = data.draw(st.lists(st.sampled_from([0.5, 0, None, 2]), min_size=n, max_size=n))
    metrics: dict[str, Any] = {"cpc": list(values), "clicks": list(counts), "spend": list(values)}
    clear_undefined_ratio_columns(metrics)
    rows = [without_undefined_ratios({"cpc": v, "clicks": c, "spend": v}) for v, c in zip(values, counts, strict=True)]
    assert [exact(v) for v in metrics["cpc"]] == [exact(row["cpc"]) for row in rows]
    assert [exact(c) for c in metrics["clicks"]] == [exact(c) for c in counts]  # counts and others unchanged
    assert [exact(v) for v in metrics["spend"]] == [exact(v) for v in values]


@given(st.lists(st.integers(-(2**70), 2**70)))
def test_a_dimensions_integers_are_written_as_str_writes_them(integers: list[int]) -> None:
    """The ids' texts, from one text orjson writes (or one by one past 64 bits, which orjson does not write)."""
    assert _texts(integers) == list(map(str, integers))
