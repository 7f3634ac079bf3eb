"""Baselines in fetch_snapshot against the sandbox (issue 19, item 4): past days fetched once, at most
DAYS_PER_POLL per poll, newest first; a failed day is no data (never zero) and tried again; ratios and the ad
level's Upgraded Smart+ ads; and which days are left to fetch (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.fetch_baseline import DAYS_PER_POLL, days_to_fetch
from monitor.sandbox import Fault, SandboxSettings
from monitor.store.repo import Store
from monitor.tiktok.models import DEFAULT_FIELDS

ACME = "7000000000000000001"  # America/New_York; the sandbox's T0 is Tuesday 15:00 there
REPORT = "report/integrated/get/"
TUESDAY = date(2026, 11, 24)
PAST = [TUESDAY - timedelta(weeks=n) for n in (1, 2, 3, 4)]


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(
        campaigns_per_advertiser=4, adgroups_per_campaign=2, ads_per_adgroup=3, smart_plus_campaigns=1
    )


@pytest.fixture
async def store(tmp_path):
    opened = await Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    yield opened
    await opened.close()


def plan(windows: dict[str, tuple[str, ...]], level: Level = Level.CAMPAIGN) -> FetchPlan:
    return FetchPlan({level: LevelPlan(DEFAULT_FIELDS[level], windows)})


@pytest.mark.parametrize(
    ("stored", "metrics", "limit", "expected"),
    [
        ({}, ("spend",), 2, PAST[:2]),  # newest first, at most the limit
        ({PAST[0]: frozenset({"spend"})}, ("spend",), 2, PAST[1:3]),  # a stored day is never fetched again
        ({PAST[0]: frozenset({"spend"})}, ("clicks", "spend"), 5, PAST),  # unless a rule now needs more metrics
        ({d: frozenset({"spend", "clicks"}) for d in PAST}, ("spend",), 2, []),
        ({}, ("spend",), 0, []),
    ],
)
def test_the_days_left_to_fetch(stored, metrics, limit, expected) -> None:
    assert days_to_fetch(PAST, stored, metrics, limit) == expected


async def test_days_are_fetched_once_paced_and_a_failed_one_again(sandbox, clock, make_client, store) -> None:
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    wanted = plan({"baseline_3w": ("spend", "cpc"), "stddev_3w": ("spend",)})  # no other report: history only

    async def poll():
        before = len(sandbox.arrivals)
        result = await fetch_snapshot(client, acme, wanted, clock.now(), store.hourly)
        return result, [a.path for a in list(sandbox.arrivals)[before:]].count(REPORT)

    sandbox.faults.add(Fault(kind="api_code", code=40002, path=REPORT, count=1))  # the newest day's report fails
    first, history = await poll()
    assert history == DAYS_PER_POLL
    assert len(first.errors) == 1 and "campaign hourly history for 2026-11-17" in first.errors[0]
    assert sorted(await store.hourly.stored_days(ACME, Level.CAMPAIGN, PAST)) == [PAST[1]]
    assert {s.metrics["baseline_3w"]["spend"] for s in first.states} == {None}  # one day stored: no data yet
    second, history = await poll()
    assert history == DAYS_PER_POLL and not second.errors  # the failed day again, and the third week
    assert not second.finite  # baselines are not vouched for by the fetch: the store checks them
    third, history = await poll()
    assert history == 0  # every day the 3 weeks read is stored: never fetched again
    stored = await store.hourly.stored_days(ACME, Level.CAMPAIGN, PAST)
    assert sorted(stored) == sorted(PAST[:3]) and all(m == {"clicks", "spend"} for m in stored.values())
    assert second.states == third.states  # the same days, read back from the store
    values = {s.id: (s.metrics["baseline_3w"], s.metrics["stddev_3w"]) for s in third.states}
    delivered = {i: v for i, v in values.items() if v[0]["spend"] is not None}
    assert delivered and all(
        b["spend"] > 0 and b["cpc"] > 0 and sd["spend"] is not None for b, sd in delivered.values()
    )
    assert all(b["cpc"] is None and sd["spend"] is None for i, (b, sd) in values.items() if i not in delivered)


async def test_a_plan_without_baselines_reads_no_history(sandbox, clock, make_client, store) -> None:
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    before = len(sandbox.arrivals)
    result = await fetch_snapshot(
        client, acme, plan({"today": ("spend",), "last_hour": ("spend",)}), clock.now(), store.hourly
    )
    assert [a.path for a in list(sandbox.arrivals)[before:]].count(REPORT) == 2  # today and today's hours
    assert all("baseline_4w" not in s.metrics for s in result.states)
    assert await store.hourly.stored_days(ACME, Level.CAMPAIGN, PAST) == {}


async def test_smart_plus_ads_have_baselines_by_their_ad_id(sandbox, clock, make_client, store) -> None:
    client = make_client()
    acme = (await client.advertiser_info([ACME]))[0]
    wanted = plan({"today": ("spend",), "last_hour": ("spend",), "baseline_2w": ("spend",)}, Level.AD)
    result = await fetch_snapshot(client, acme, wanted, clock.now(), store.hourly)
    smart_ads = {sp.smart_plus_ad_id for sp in sandbox.world.smart_plus.ads.values()}
    spent = {s.id: s for s in result.states if s.metrics.get("today", {}).get("spend")}
    assert smart_ads & set(spent) and set(spent) - smart_ads
    assert all(s.metrics["baseline_2w"]["spend"] for s in spent.values())  # Smart+ ads and the others
