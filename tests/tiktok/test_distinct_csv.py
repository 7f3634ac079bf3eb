"""An async report's CSV read as its distinct rows (monitor.tiktok.distinct_csv) is the table the column readers
make of it: each row's id as csv reads it, and its values, of the same types (0 stays int 0, 0.0 a float, -0.0
negative, "-" no data), whether its lines are split at their first comma or by the ids of a report read before;
where it is not certain it steps aside (None) and the column readers read the report."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from monitor.tiktok.distinct_csv import KnownIds, distinct_rows
from monitor.tiktok.report_table import ReportTable
from monitor.tiktok.reports import parse_csv_table

NUMBERS = st.one_of(
    st.integers(-(2**65), 2**65).map(str),  # (past 2**63: steps aside)
    st.floats(-1e20, 1e20).map(repr),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "0.00", "-", "1E5", "2.5E-3", "18446744073709551615"]),
)
ODD = st.sampled_from(["", "--", "007", "1.", "+5", "x", '"1"', " 7", "1e400", "\r"])  # steps aside
CELLS = st.integers(0, 19).flatmap(lambda one_in_20: ODD if one_in_20 == 0 else NUMBERS)
IDS = st.one_of(st.integers(1, 2**64).map(str), st.sampled_from(["0", "-0", "007", "1.5", "-", "", "1e3"]))


def exact(value: Any) -> tuple[str, str]:
    return (type(value).__name__, repr(value))


def shown(table: ReportTable) -> tuple[list[Any], list[Any]]:
    return (
        [(name, list(column)) for name, column in table.dimensions.items()],
        [(name, [exact(v) for v in column]) for name, column in table.metrics.items()],
    )


@st.composite
def repeating_csvs(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A report whose rows repeat a few texts of values (so it is read as its distinct rows), and its ids."""
    names = draw(
        st.lists(
            st.sampled_from(["spend", "clicks", "cpc", "conversion", "cost_per_conversion"]), min_size=1, max_size=4
        )
    )
    header = ["ad_id", *names] if draw(st.integers(0, 9)) else [*names, "ad_id"]  # (not first: steps aside)
    pool = draw(st.lists(st.lists(CELLS, min_size=len(names), max_size=len(names)), min_size=1, max_size=3))
    n = draw(st.integers(5, 40))  # (at most 3 distinct texts of 5: 60 %)
    ids = draw(st.lists(IDS, min_size=n, max_size=n))
    rows = [draw(st.sampled_from(pool)) for _ in range(n)]
    lines = [",".join(header), *(",".join([i, *cells] if header[0] == "ad_id" else [*cells, i]) for i, cells in
                                 zip(ids, rows, strict=True))]  # fmt: skip
    if draw(st.integers(0, 9)) == 0:
        lines.insert(draw(st.integers(1, len(lines))), "")  # a blank line inside
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"])), ids


@settings(max_examples=400, deadline=None)
@given(case=repeating_csvs(), known=st.sampled_from(["none", "same", "other"]))
def test_a_report_read_as_its_distinct_rows_is_the_table_the_column_readers_make(
    case: tuple[str, list[str]], known: str
) -> None:
    text, ids = case
    hint = {"none": None, "same": KnownIds(ids), "other": KnownIds([*ids[1:], "9"])}[known]
    rows = distinct_rows(text, "ad_id", hint)
    try:
        table = parse_csv_table(text, ("ad_id",))
    except Exception:
        assert rows is None  # what the column readers cannot read is theirs to refuse
        return
    if rows is not None:
        event("read as distinct rows")
        assert shown(rows.expanded()) == shown(table)
        assert len(rows.distinct) == len(set(rows.keys)) and set(rows.keys) == set(rows.distinct)
        if known == "same" and hint is not None:
            assert rows.ids is hint.ids  # split by the known ids: the very list


def test_a_usual_report_is_read_as_its_distinct_rows_and_a_varied_one_is_not() -> None:
    repeating = "ad_id,spend,conversion\n" + "".join(f"{i},{'0.00' if i % 3 else '1.50'},0\n" for i in range(1, 50))
    rows = distinct_rows(repeating, "ad_id")
    assert rows is not None and rows.distinct == ["0.00,0", "1.50,0"]
    assert rows.table.metrics == {"spend": [0.0, 1.5], "conversion": [0, 0]}
    assert rows.keys[:3] == ["0.00,0", "0.00,0", "1.50,0"] and rows.ids[:3] == ["1", "2", "3"]
    varied = "ad_id,spend\n" + "".join(f"{i},{i}.25\n" for i in range(1, 50))
    assert distinct_rows(varied, "ad_id") is None  # (nearly every row its own: read by columns)
    assert distinct_rows(repeating, "campaign_id") is None  # not its dimension


def test_known_ids_split_lines_only_when_every_line_starts_with_its_own() -> None:
    known = KnownIds(["12", "3"])
    assert known.split(["12,5,6", "3,7"]) == ["5,6", "7"]
    assert known.split(["12,5,6", "33,7"]) is None  # one line's id is another
    assert known.split(["125,6", "3,7"]) is None  # no comma after the id
    assert known.split(["12,5"]) is None  # another count of rows
    assert KnownIds(["1,2", "3"]).split(["1,2,5", "3,7"]) is None  # an id with a comma (csv's quoted cell): never
