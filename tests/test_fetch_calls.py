"""Calls per poll against the minimum (issue 18, item 4).

The minimum for one advertiser: each level's list pages (1,000 rows a page, at least one), and per window a rule
reads at a level, the report's pages (rows with data, 1,000 a page, at least one), or, for an ad-level window
of an advertiser with more ads than the sync report covers, one async task: create, one check, download.
What was measured before: a 100,000-ad cycle made 186-191 calls against 115, the extra ones sync pages of
capped reports read before switching to the task. The sandbox's cap is lowered to 2,000 ads here, so a world of
3,000 ads per advertiser takes the task path without a 100,000-ad world.
"""

from __future__ import annotations

import math

import pytest

from monitor.domain import EntityState, Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.sandbox import SandboxSettings
from monitor.tiktok.client import MAX_PAGE_SIZE
from monitor.tiktok.models import DEFAULT_FIELDS

ADV = "7000000000000000001"
CAP = 2_000  # the sandbox's (and the client's) sync report cap, lowered from TikTok's 20,000
WINDOWS = {
    Level.CAMPAIGN: {"today": ("spend",), "yesterday": ("spend", "conversion"), "lifetime": ("spend",)},
    Level.ADGROUP: {"today": ("spend", "impressions"), "last_7d": ("spend",)},
    Level.AD: {"today": ("spend", "conversion"), "yesterday": ("spend",)},
}
TASK_CALLS = 3  # report/task/create, report/task/check (ready at the first check), report/task/download


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # 10 campaigns x 10 ad groups x 30 ads: 3,000 ads per advertiser
    return SandboxSettings(campaigns_per_advertiser=10, adgroups_per_campaign=10, ads_per_adgroup=30, sync_ad_limit=CAP)


def minimum(states: tuple[EntityState, ...], plan: FetchPlan, cap: int) -> int:
    """The fewest calls that read what ``plan`` asks for, given what was read."""
    calls = 0
    if Level.CAMPAIGN not in plan.levels and {Level.ADGROUP, Level.AD} & set(plan.levels):
        calls += 1  # smart_plus/campaign/get: which ad groups and ads are Upgraded Smart+ (campaign/get says it)
    for level, level_plan in plan.levels.items():
        of_level = [s for s in states if s.level is level]
        calls += max(1, math.ceil(len(of_level) / MAX_PAGE_SIZE))
        for window in level_plan.windows:
            if level is Level.AD and len(of_level) > cap:
                calls += TASK_CALLS
            else:
                rows = sum(1 for s in of_level if window in s.metrics)
                calls += max(1, math.ceil(rows / MAX_PAGE_SIZE))
    return calls


@pytest.mark.parametrize("cap", [CAP, 20_000], ids=["past-the-cap-task", "within-the-cap-sync"])
async def test_a_poll_makes_the_minimum_of_calls(sandbox, make_client, clock, cap):
    client = make_client()
    client.sync_report_ads = cap
    sandbox.report_cache.ad_limit = cap
    advertiser = (await client.advertiser_info([ADV]))[0]
    before = len(sandbox.arrivals)
    plan = FetchPlan({level: LevelPlan(DEFAULT_FIELDS[level], windows) for level, windows in WINDOWS.items()})

    result = await fetch_snapshot(client, advertiser, plan, clock.now())

    calls = [a for a in sandbox.arrivals[before:] if a.path != "advertiser/info/"]
    ads = [s for s in result.states if s.level is Level.AD]
    assert not result.errors
    assert len(ads) == 3_000
    if cap == CAP:  # the report needs more ads than the sync report covers: a capped one would not do
        assert sum(1 for s in ads if "today" in s.metrics) > cap
    by_path: dict[str, int] = {}
    for a in calls:
        by_path[a.path] = by_path.get(a.path, 0) + 1
    print(f"\ncap {cap}: {len(calls)} calls, minimum {minimum(result.states, plan, cap)}: {by_path}")  # -s shows it
    assert len(calls) == minimum(result.states, plan, cap)


async def test_a_sync_report_that_says_it_was_capped_costs_one_page_before_the_task(sandbox, make_client, clock):
    """The client did not expect the cap (its ``sync_report_ads`` is TikTok's 20,000, the sandbox's 2,000):
    page 1 carries the truncation header, the other pages are not read, the task follows."""
    client = make_client()
    advertiser = (await client.advertiser_info([ADV]))[0]
    before = len(sandbox.arrivals)
    plan = FetchPlan({Level.AD: LevelPlan(DEFAULT_FIELDS[Level.AD], {"today": ("spend",)})})

    result = await fetch_snapshot(client, advertiser, plan, clock.now())

    paths = [a.path for a in sandbox.arrivals[before:]]
    assert not result.errors
    assert sum(1 for s in result.states if "today" in s.metrics) > CAP
    assert paths.count("report/integrated/get/") == 1
    assert len(paths) == minimum(result.states, plan, CAP) + 1
