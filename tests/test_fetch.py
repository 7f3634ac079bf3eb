"""Step 1 of a poll against the sandbox: only what the plan asks, missing data stays missing."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Collection
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import EntityFields, Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot, window_query
from monitor.sandbox import Fault
from monitor.store.hourly import HourlyHistory, StoredDay
from monitor.store.repo import Store
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.client_paging import MAX_PAGE_SIZE
from monitor.tiktok.errors import PermanentApiError
from monitor.tiktok.models import DEFAULT_FIELDS, Report, ReportQuery
from monitor.tiktok.report_table import ReportTable
from monitor.tiktok.transport import Transport

ADV = "7000000000000000001"


@pytest.fixture
async def advertiser(make_client):
    return (await make_client().advertiser_info([ADV]))[0]


CAMPAIGN_PLAN = FetchPlan(
    {
        Level.CAMPAIGN: LevelPlan(
            fields=("operation_status", "secondary_status", "budget"),
            windows={"today": ("spend", "conversion"), "lifetime": ("spend",)},
        )
    }
)


@pytest.mark.parametrize(
    ("window", "start", "end"),
    [
        ("today", date(2026, 11, 24), date(2026, 11, 24)),
        ("yesterday", date(2026, 11, 23), date(2026, 11, 23)),
        ("last_7d", date(2026, 11, 17), date(2026, 11, 23)),
        ("last_30d", date(2026, 10, 25), date(2026, 11, 23)),
    ],
)
def test_windows_are_local_dates(window, start, end):
    query = window_query(window, Level.AD, ("spend",), date(2026, 11, 24))
    assert (query.start_date, query.end_date, query.lifetime) == (start, end, False)


def test_lifetime_window_asks_for_the_lifetime():
    assert window_query("lifetime", Level.AD, ("spend",), date(2026, 11, 24)).lifetime


async def test_fetches_only_the_planned_levels_windows_and_metrics(sandbox, clock, make_client, advertiser):
    client = make_client()
    sandbox.arrivals.clear()
    calls_before = client.transport.calls
    result = await fetch_snapshot(client, advertiser, CAMPAIGN_PLAN, clock.now())
    assert sorted(a.path for a in sandbox.arrivals) == [
        "campaign/get/", "report/integrated/get/", "report/integrated/get/",
    ]  # fmt: skip
    assert client.transport.calls - calls_before == 3 and not result.errors  # what the pipeline counts
    assert {s.level for s in result.states} == {Level.CAMPAIGN}
    assert len(result.states) == 3
    spending = [s for s in result.states if s.metric("spend") is not None]
    assert spending, "the sandbox's enabled campaigns spend during the day"
    for state in spending:
        assert set(state.metrics["today"]) == {"spend", "conversion"}
        assert set(state.metrics["lifetime"]) == {"spend"}


async def test_an_entity_without_a_report_row_has_missing_metrics_not_zero(clock, make_client, advertiser):
    result = await fetch_snapshot(make_client(), advertiser, CAMPAIGN_PLAN, clock.now())
    disabled = next(s for s in result.states if s.operation_status == "DISABLE")
    assert disabled.metric("spend") is None
    assert disabled.metric("conversion") is None
    assert disabled.metric("spend", "lifetime") > 0  # it did spend before it was switched off


async def test_a_failed_report_leaves_its_window_missing_and_is_recorded(sandbox, clock, make_client, advertiser):
    sandbox.faults.add(Fault(kind="api_code", code=40002, path="report/integrated/get/", count=1))
    result = await fetch_snapshot(make_client(), advertiser, CAMPAIGN_PLAN, clock.now())
    assert len(result.errors) == 1 and "code 40002" in result.errors[0]
    assert len(result.states) == 3
    windows = {w for s in result.states for w in s.metrics}
    assert len(windows) == 1  # one of the two windows failed, the other arrived


async def test_a_failed_entity_list_fails_the_fetch(sandbox, clock, make_client, advertiser):
    sandbox.faults.add(Fault(kind="api_code", code=40002, path="campaign/get/", count=1))
    with pytest.raises(PermanentApiError):
        await fetch_snapshot(make_client(), advertiser, CAMPAIGN_PLAN, clock.now())


async def test_advertiser_level_uses_the_account_report(clock, make_client, advertiser):
    plan = FetchPlan({Level.ADVERTISER: LevelPlan(windows={"today": ("spend",)})})
    result = await fetch_snapshot(make_client(), advertiser, plan, clock.now())
    (state,) = result.states
    assert (state.level, state.id, state.secondary_status) == (Level.ADVERTISER, ADV, "STATUS_ENABLE")
    assert state.metric("spend") > 0


@pytest.mark.parametrize("wire", ["0.00", "0", "-"])
async def test_a_ratio_over_zero_clicks_is_missing_whatever_the_api_sends(
    sandbox, clock, make_client, advertiser, wire
):
    """The report asks for cpc's denominator too (a rule reads only cpc), so a cpc over zero clicks is no data."""
    plan = FetchPlan({Level.CAMPAIGN: LevelPlan(fields=("budget",), windows={"today": ("cpc",)})})
    first = await fetch_snapshot(make_client(), advertiser, plan, clock.now())
    with_cpc = sorted((s.id for s in first.states if s.metric("cpc") is not None), key=int)
    assert with_cpc, "the sandbox's enabled campaigns get clicks during the day"
    sandbox.faults.add(  # the first row (the highest campaign id): no clicks, and cpc as TikTok may send it
        Fault(
            kind="patch",
            path="report/integrated/get/",
            patch=[
                {"op": "replace", "path": "/data/list/0/metrics/clicks", "value": "0"},
                {"op": "replace", "path": "/data/list/0/metrics/cpc", "value": wire},
            ],
        )
    )
    result = await fetch_snapshot(make_client(), advertiser, plan, clock.now())
    assert not result.errors
    cpc = {s.id: s.metric("cpc") for s in result.states}
    assert cpc[with_cpc[-1]] is None
    assert all(isinstance(cpc[i], float) for i in with_cpc[:-1])
    assert set(next(s for s in result.states if s.id == with_cpc[-1]).metrics["today"]) == {"cpc"}


class _RecordingClient(TikTokClient):
    """The sandbox's client, keeping a weak reference to the columns of each report it returns."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.tables: list[weakref.ref[ReportTable]] = []

    async def report(
        self,
        advertiser_id: str,
        query: ReportQuery,
        *,
        page_size: int = MAX_PAGE_SIZE,
        combine: bool = False,
        ads: int | None = None,
        rows: int | None = None,
    ) -> Report:
        found = await super().report(advertiser_id, query, page_size=page_size, combine=combine, ads=ads, rows=rows)
        self.tables.append(weakref.ref(found.table))  # built here as the join would build it, kept by the report
        return found


class _WatchingHistory(HourlyHistory):
    """A store's hourly history that notes, when it is first asked which days it holds (after the states are
    built, before any past day is fetched), how many reports were read and how many of their columns are alive."""

    def __init__(self, engine: AsyncEngine, tables: list[weakref.ref[ReportTable]]) -> None:
        super().__init__(engine)
        self.tables: list[weakref.ref[ReportTable]] = tables
        self.first: tuple[int, int] | None = None  # (reports read, their columns alive)

    async def stored_days(self, advertiser_id: str, level: Level, days: Collection[date]) -> dict[date, StoredDay]:
        if self.first is None:
            self.first = (len(self.tables), sum(table() is not None for table in self.tables))
        return await super().stored_days(advertiser_id, level, days)


async def test_reports_are_let_go_once_read_into_the_states(sandbox, clock, make_client, advertiser, tmp_path):
    """Issue 18 (memory at the peak): a report's columns are not kept until the end of the fetch; a 100,000-ad
    report's are megabytes, and all of them were alive while the states were built."""
    client = _RecordingClient(make_client().transport)
    store = await Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        history = _WatchingHistory(store.engine, client.tables)
        plan = FetchPlan(
            {Level.CAMPAIGN: LevelPlan(("operation_status",), {"today": ("spend",), "baseline_3w": ("spend",)})}
        )
        result = await fetch_snapshot(client, advertiser, plan, clock.now(), history)
    finally:
        await store.close()
    assert not result.errors and any(s.metric("spend") is not None for s in result.states)  # read into the states
    assert history.first == (1, 0)  # today's report, read into the states and let go


class _ListingLast(_RecordingClient):
    """A client whose campaign list comes once ``reports`` reports were returned (and a few turns of the event
    loop later), noting then how many of their columns are alive."""

    def __init__(self, transport: Transport, reports: int) -> None:
        super().__init__(transport)
        self.reports = reports
        self.alive: tuple[int, int] | None = None  # (reports returned, their columns alive) when the list came

    async def entity_rows(self, level: Level, advertiser_id: str, **options: Any) -> list[EntityFields]:
        for _ in range(2000):
            if len(self.tables) >= self.reports:
                break
            await asyncio.sleep(0.005)
        for _ in range(5):
            await asyncio.sleep(0)
        self.alive = (len(self.tables), sum(table() is not None for table in self.tables))
        return await super().entity_rows(level, advertiser_id, **options)


async def test_each_report_is_let_go_once_read_not_when_every_read_is_done(sandbox, clock, make_client, advertiser):
    """Issue 18 (memory at the peak): a report is read into the windows as soon as it comes, not once the lists
    and every other report have come (a 100,000-ad poll's four ad reports were all alive at once then)."""
    client = _ListingLast(make_client().transport, reports=3)
    windows = {"today": ("spend",), "yesterday": ("spend",), "lifetime": ("spend", "clicks")}
    plan = FetchPlan({Level.CAMPAIGN: LevelPlan(("operation_status",), windows)})
    result = await fetch_snapshot(client, advertiser, plan, clock.now())
    assert not result.errors and len(client.tables) == 3
    assert client.alive == (3, 0)  # all three read before the list came, and each let go once read into the windows
    states = [s for s in result.states if s.level is Level.CAMPAIGN]
    for window in windows:  # each report read into the states
        assert any(s.metric("spend", window) is not None for s in states)


async def test_known_entities_lend_their_ids_and_names(sandbox, clock, make_client, advertiser):
    """Issue 18 (memory at the peak): a poll's new states hold the previous snapshot's id and name strings where
    they are equal, and are otherwise the very states a fetch without them builds."""
    client = make_client()
    plan = FetchPlan(
        {level: LevelPlan(DEFAULT_FIELDS[level], {"today": ("spend",)}) for level in (Level.CAMPAIGN, Level.AD)}
    )
    first = await fetch_snapshot(client, advertiser, plan, clock.now())
    renamed = next(s for s in first.states if s.level is Level.AD)
    known = {s.key: s for s in first.states}
    known[renamed.key] = replace(renamed, name=f"{renamed.name} (before)")  # renamed since: its own name kept
    plain = await fetch_snapshot(client, advertiser, plan, clock.now())
    sharing = await fetch_snapshot(client, advertiser, plan, clock.now(), known=known)
    assert sharing.states == plain.states and len(plain.states) > 10
    assert [type(s.name) for s in sharing.states] == [type(s.name) for s in plain.states]
    for state in sharing.states:
        old = known[state.key]
        assert state.id is old.id
        assert (state.name is old.name) == (state.key != renamed.key)
