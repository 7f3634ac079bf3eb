"""A level's reports read into its windows as they come, one at a time (monitor.fetch_windows; issue 18)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitor.domain import Level
from monitor.fetch_windows import LevelReports
from monitor.tiktok.errors import AuthError, BadResponseError
from monitor.tiktok.models import Report, ReportRow
from monitor.tiktok.report_table import ReportTable
from monitor.tiktok.reports import CsvBody

IDS = [str(1_000_000 + i) for i in range(2_500)]  # more than one slice of join_window (1,000 rows)


def table(ids: list[str], value: float) -> ReportTable:
    return ReportTable({"ad_id": ids}, {"spend": [value + i for i in range(len(ids))]}, finite=True)


async def test_two_reports_of_a_level_that_come_together_are_read_in_one_after_the_other() -> None:
    """Read in at once, the first report makes some entities' dicts of windows while the second (other ids, in
    another order) makes others, and one overwrote the other's: 1,000 of 2,500 entities lost a window."""
    level = LevelReports(Level.AD)
    backwards = IDS[::-1]
    read = await asyncio.gather(
        level.join(Report(table=table(IDS, 0.5)), "today", ("spend",)),
        level.join(Report(table=table(backwards, 100.5)), "yesterday", ("spend",)),
    )
    assert read == [True, True]
    assert len(level.windows) == len(IDS)
    for i, entity_id in enumerate(IDS):
        windows = level.windows[entity_id]
        assert windows["today"]["spend"] == 0.5 + i
        assert windows["yesterday"]["spend"] == 100.5 + (len(IDS) - 1 - i)  # its row in the backwards report


async def test_a_body_that_cannot_be_read_is_the_reports_error_and_puts_nothing() -> None:
    level = LevelReports(Level.CAMPAIGN)
    bad = Report(unread=CsvBody("campaign_id,spend\n1,\r2\n", ("campaign_id",)))  # a bare carriage return
    read = await level.join(bad, "today", ("spend",))
    assert isinstance(read, BadResponseError) and "CSV cannot be read" in str(read)
    assert level.windows == {}
    hourly = Report(unread=CsvBody("campaign_id,stat_time_hour,spend\n1,\r2,3\n", ("campaign_id", "stat_time_hour")))
    assert isinstance(await level.add_hours(hourly), BadResponseError) and level.hours.rows == {}
    good = Report(unread=CsvBody("campaign_id,spend\n1,2.5\n", ("campaign_id",)))
    assert await level.join(good, "today", ("spend",)) is True and level.windows["1"]["today"] == {"spend": 2.5}


async def test_a_joined_report_says_whether_its_floats_are_finite() -> None:
    level = LevelReports(Level.AD)
    rows = [ReportRow({"ad_id": "1"}, {"spend": float("nan")})]  # (rows built here: nothing vouches for them)
    assert await level.join(Report(rows=rows), "today", ("spend",)) is False


class Refusing:
    def read(self) -> Any:
        raise AuthError("token revoked", endpoint="report/task/download/")


async def test_an_auth_error_reading_a_body_is_raised() -> None:
    with pytest.raises(AuthError):
        await LevelReports(Level.AD).join(Report(unread=Refusing()), "today", ("spend",))
