"""Hourly windows read from the sandbox (issue 19, item 3): their values agree with the daily reports, a window
across local midnight takes two reports, and a plan without hourly windows makes no hourly call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.sandbox import Fault, SandboxSettings
from monitor.tiktok.models import DEFAULT_FIELDS

ACME, KIWI = "7000000000000000001", "7000000000000000002"  # America/New_York, Pacific/Auckland
REPORT = "report/integrated/get/"


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(
        campaigns_per_advertiser=4, adgroups_per_campaign=2, ads_per_adgroup=3, smart_plus_campaigns=1
    )


def plan(windows: dict[str, tuple[str, ...]], level: Level = Level.CAMPAIGN) -> FetchPlan:
    return FetchPlan({level: LevelPlan(DEFAULT_FIELDS[level], windows)})


async def spend_today(client, advertiser, clock, at: datetime, window: str = "today") -> dict[str, float]:
    """A day's spend per campaign as the daily report says it at ``at`` (the sandbox's clock set back there)."""
    now = clock.now()
    clock.set(at)
    try:
        result = await fetch_snapshot(client, advertiser, plan({window: ("spend",)}), at)
    finally:
        clock.set(now)
    return {s.id: s.metrics[window]["spend"] for s in result.states if s.metrics.get(window)}


async def test_last_3h_is_todays_spend_since_three_hours_ago(sandbox, clock, make_client):
    """At 15:00 in New York, last_3h is 12:00-15:00: today's spend at 15:00 less today's spend at 12:00, as
    the daily report says; this_hour has just begun (no hour TikTok has reported)."""
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    now = clock.now()  # 20:00 UTC, 15:00 in New York
    at_noon = await spend_today(client, acme, clock, now - timedelta(hours=3))
    at_three = await spend_today(client, acme, clock, now)
    wanted = {"last_3h": ("spend", "cpc"), "last_hour": ("spend",), "this_hour": ("spend",)}
    result = await fetch_snapshot(client, acme, plan(wanted), now)
    assert not result.errors
    last_3h = {s.id: s.metrics["last_3h"] for s in result.states}
    spent = {i: at_three[i] - at_noon.get(i, 0.0) for i in at_three}
    assert any(v > 0 for v in spent.values())
    assert {i: v["spend"] for i, v in last_3h.items() if v["spend"]} == pytest.approx(
        {i: v for i, v in spent.items() if v}, abs=0.02
    )
    assert all(s.metrics["this_hour"]["spend"] is None for s in result.states)


async def test_a_window_across_local_midnight_takes_two_reports(sandbox, clock, make_client):
    """12:30 UTC on the 24th is 01:30 on the 25th in Auckland: last_3h is 22:00 and 23:00 of the 24th and 00:00
    of the 25th, read from one report of each date; last_hour alone is one report."""
    client = make_client()
    kiwi = (await client.advertiser_info([KIWI]))[0]
    now = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    clock.set(now)
    before = len(sandbox.arrivals)
    result = await fetch_snapshot(client, kiwi, plan({"last_3h": ("spend",), "last_hour": ("spend",)}), now)
    assert not result.errors
    assert [a.path for a in sandbox.arrivals[before:]].count(REPORT) == 2
    at_ten = await spend_today(client, kiwi, clock, now - timedelta(hours=3, minutes=30))  # 22:00 on the 24th
    end_of_day = await spend_today(client, kiwi, clock, now, "yesterday")  # the whole 24th
    for state in result.states:
        last_3h, last_hour = state.metrics["last_3h"]["spend"], state.metrics["last_hour"]["spend"]
        before_midnight = end_of_day.get(state.id, 0.0) - at_ten.get(state.id, 0.0)
        assert last_3h == pytest.approx(before_midnight + last_hour, abs=0.02)
    before = len(sandbox.arrivals)
    await fetch_snapshot(client, kiwi, plan({"last_hour": ("spend",)}), now)
    assert [a.path for a in sandbox.arrivals[before:]].count(REPORT) == 1


async def test_a_failed_hourly_report_leaves_the_window_missing_not_zero(sandbox, clock, make_client):
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    sandbox.faults.add(Fault(kind="api_code", code=40002, path=REPORT, count=1))
    result = await fetch_snapshot(client, acme, plan({"last_hour": ("spend",)}), clock.now())
    assert result.errors and "hours of 2026-11-24" in result.errors[0]
    assert {s.metrics["last_hour"]["spend"] for s in result.states} == {None}


async def test_smart_plus_ads_are_keyed_by_their_ad_id_in_hourly_reports(sandbox, clock, make_client):
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    result = await fetch_snapshot(client, acme, plan({"last_hour": ("spend",)}, Level.AD), clock.now())
    assert not result.errors
    smart_ads = {sp.smart_plus_ad_id for sp in sandbox.world.smart_plus.ads.values()}
    spent = {s.id for s in result.states if s.metrics["last_hour"]["spend"]}
    assert smart_ads and smart_ads & spent and spent - smart_ads  # Smart+ ads and the others have their hour
