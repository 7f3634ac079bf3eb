"""The fetch vouches that its metric values are finite, so the store need not check each one (issue 18).

The store refuses a NaN or an infinity (orjson would write it as ``null``: no data, unnoticed), and checking
every distinct window of a 100,000-ad poll cost 0.1-0.2 s and a dict of 400,000 entries at the poll's peak of
memory. The CSV readers never make such a value (a cell that would be one is no data), nor does JSON; a table
built any other way, an hourly sum that overflows or a baseline is not vouched for, and the store checks then.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.domain import Level
from monitor.domain.windows import window_hours
from monitor.fetch import FetchPlan, FetchResult, LevelPlan, fetch_snapshot
from monitor.fetch_hours import HOUR_DIMENSION, HourlyRows
from monitor.fetch_states import add_hours, finite_values, join_window
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import PermanentApiError
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.numeric_csv import numeric_table
from monitor.tiktok.report_table import Report, ReportRow, ReportTable
from monitor.tiktok.reports import CsvBody, csv_table, parse_csv_table
from monitor.tiktok.transport import Transport

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


# --- the fetch over the sandbox, its reports doctored on their way in -----------------------------------------

ADV = "7000000000000000001"
PLAN = FetchPlan(
    {
        Level.CAMPAIGN: LevelPlan(
            ("operation_status",), {"today": ("spend",), "lifetime": ("spend",), "last_3h": ("spend", "cpc")}
        )
    }
)
Doctor = Callable[[ReportQuery, Report], Awaitable[Report]]


class Doctored(TikTokClient):
    """The sandbox's client, each report passed through ``doctor`` (which may change it, raise or wait)."""

    def __init__(self, transport: Transport, doctor: Doctor) -> None:
        super().__init__(transport)
        self.doctor = doctor

    async def report(self, advertiser_id: str, query: ReportQuery, **options: Any) -> Report:
        return await self.doctor(query, await super().report(advertiser_id, query, **options))


def hourly(query: ReportQuery) -> bool:
    return HOUR_DIMENSION in query.dimensions


def with_spend(report: Report, spend: float) -> Report:
    return Report(rows=[ReportRow(row.dimensions, {**row.metrics, "spend": spend}) for row in report.rows])


async def fetched(sandbox, clock, make_client, doctor: Doctor) -> FetchResult:
    client = Doctored(make_client().transport, doctor)
    advertiser = (await client.advertiser_info([ADV]))[0]
    return await fetch_snapshot(client, advertiser, PLAN, clock.now())


async def test_the_fetch_vouches_for_what_it_read(sandbox, clock, make_client) -> None:
    async def as_is(query: ReportQuery, report: Report) -> Report:
        return report

    result = await fetched(sandbox, clock, make_client, as_is)
    assert not result.errors and result.finite


async def test_a_report_that_is_not_finite_is_not_vouched_for(sandbox, clock, make_client) -> None:
    async def nan_today(query: ReportQuery, report: Report) -> Report:
        return with_spend(report, math.nan) if not query.lifetime and not hourly(query) else report

    assert not (await fetched(sandbox, clock, make_client, nan_today)).finite


async def test_hourly_sums_that_overflow_are_not_vouched_for(sandbox, clock, make_client) -> None:
    async def huge_hours(query: ReportQuery, report: Report) -> Report:
        return with_spend(report, 1e308) if hourly(query) else report  # three finite hours, an infinite sum

    result = await fetched(sandbox, clock, make_client, huge_hours)
    assert not result.errors and not result.finite
    assert any(math.isinf(s.metric("spend", "last_3h") or 0) for s in result.states)  # (the store refuses it)


async def test_report_errors_are_in_the_plans_order_whatever_order_they_came_in(sandbox, clock, make_client) -> None:
    async def both_fail(query: ReportQuery, report: Report) -> Report:
        if hourly(query):
            return report
        await asyncio.sleep(0 if query.lifetime else 0.2)  # today's (first in the plan) fails last
        raise PermanentApiError(
            f"refused {'lifetime' if query.lifetime else 'today'}", endpoint="report/integrated/get/"
        )

    result = await fetched(sandbox, clock, make_client, both_fail)
    assert [error.split(":")[0] for error in result.errors] == [
        "campaign report for today",
        "campaign report for lifetime",
    ]


async def test_a_report_body_that_cannot_be_read_leaves_its_window_missing(sandbox, clock, make_client) -> None:
    async def unreadable_lifetime(query: ReportQuery, report: Report) -> Report:
        if query.lifetime:  # as an async report's CSV that the download's check let through
            return Report(unread=CsvBody("campaign_id,spend\n1,\r2\n", ("campaign_id",)))
        return report

    result = await fetched(sandbox, clock, make_client, unreadable_lifetime)
    assert len(result.errors) == 1 and result.errors[0].startswith("campaign report for lifetime: ")
    assert "CSV cannot be read" in result.errors[0]
    campaigns = [s for s in result.states if s.level is Level.CAMPAIGN]
    assert campaigns and all("lifetime" not in s.metrics for s in campaigns)  # missing, not zero
    assert any(s.metric("spend") is not None for s in campaigns)  # the other windows read
