"""Step 1 of a poll against the sandbox: only what the plan asks, missing data stays missing."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot, window_query
from monitor.sandbox import Fault
from monitor.tiktok.errors import PermanentApiError

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
