"""The fetch vouches that its metric values are finite, so the store need not check each one (issue 18).

The store refuses a NaN or an infinity (orjson would write it as ``null``: no data, unnoticed), and checking
every distinct window of a 100,000-ad poll cost 0.1-0.2 s and a dict of 400,000 entries at the poll's peak of
memory. The CSV readers never make such a value (a cell that would be one is no data), nor does JSON; a table
built any other way, an hourly sum that overflows or a baseline is not vouched for, and the store checks then.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.domain import Level
from monitor.domain.windows import window_hours
from monitor.fetch_hours import HourlyRows
from monitor.fetch_states import add_hours, finite_values, join_window
from monitor.tiktok.numeric_csv import numeric_table
from monitor.tiktok.report_table import Report, ReportRow, ReportTable
from monitor.tiktok.reports import csv_table, parse_csv_table

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def test_the_csv_readers_vouch_and_read_what_is_not_finite_as_no_data() -> None:
    numbers = "ad_id,spend,cpc\n1,1.5,2\n2,-,0.25\n"
    table = numeric_table(numbers, ["ad_id"])
    assert table is not None and table.finite
    weird = "ad_id,spend,cpc\n1,inf,nan\n2,1e999,-Infinity\n3,2.5,1\n"
    assert numeric_table(weird, ["ad_id"]) is None  # letters: the general reader's
    general = csv_table(weird, ["ad_id"])
    assert general.finite and general.metrics == {"spend": [None, None, 2.5], "cpc": [None, None, 1]}
    assert all(math.isfinite(v) for column in general.metrics.values() for v in column if type(v) is float)
    assert parse_csv_table("", ["ad_id"]).finite  # no rows: nothing to doubt


def test_a_table_built_from_rows_is_not_vouched_for() -> None:
    report = Report(rows=[ReportRow({"ad_id": "1"}, {"spend": 1.5})])
    assert not report.table.finite  # rows may come from anywhere: join_window checks them
    assert ReportTable({"ad_id": ["1"]}, {"spend": [1.5]}, finite=True) == report.table  # not part of equality


@pytest.mark.parametrize(
    ("spend", "vouched", "finite"),
    [
        ([1.5, None, 0, "x"], False, True),  # checked: every float finite
        ([1.5, float("nan")], False, False),
        ([float("-inf"), 1.0], False, False),
        ([1e308, 1e308], False, False),  # finite values whose sum overflows: not known, the store checks each
        ([1.5, 2.5], True, True),
    ],
)
async def test_a_joined_window_says_whether_its_values_are_finite(
    spend: list[Any], vouched: bool, finite: bool
) -> None:
    table = ReportTable({"ad_id": [str(i) for i in range(len(spend))]}, {"spend": spend}, finite=vouched)
    into: dict[str, dict[str, Any]] = {}
    assert await join_window(into, table, Level.AD, "today", ("spend", "clicks")) is finite
    assert [into[str(i)]["today"]["spend"] for i in range(len(spend))] == spend or not finite  # (nan != nan)


async def test_only_the_wanted_columns_are_checked() -> None:
    table = ReportTable({"ad_id": ["1"]}, {"spend": [1.0], "cpm": [float("nan")]})
    assert await join_window({}, table, Level.AD, "today", ("spend",)) is True


def hours_of(spend: float) -> tuple[HourlyRows, dict[str, tuple[str, ...]]]:
    hours_3h = window_hours("last_3h", NOW, UTC)
    rows = {"1": {hour: {"spend": spend, "clicks": 1} for hour in hours_3h}, "2": {}}
    return HourlyRows(reported=set(hours_3h), rows=rows), {"last_3h": ("spend", "cpc")}


def test_hourly_windows_say_whether_their_sums_are_finite() -> None:
    hours, windows = hours_of(2.5)
    assert add_hours({}, ["1", "2"], hours, windows, NOW, UTC) is True
    hours, windows = hours_of(1e308)  # three finite hours whose sum overflows
    into: dict[str, dict[str, Any]] = {}
    assert add_hours(into, ["1", "2"], hours, windows, NOW, UTC) is False
    assert math.isinf(into["1"]["last_3h"]["spend"])  # (the store then refuses it, as before)


def test_finite_values() -> None:
    assert finite_values([1, 2.5, None, "inf"]) and finite_values([])
    assert not finite_values([float("nan")]) and not finite_values([1e308, 1e308])
