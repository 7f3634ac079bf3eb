"""Calls per poll against the minimum (issue 18, item 4).

The minimum for one advertiser: each level's list pages (1,000 rows a page, at least one), and per window a rule
reads at a level, the report's pages (rows with data, 1,000 a page, at least one), or, for an ad-level window
of an advertiser with more ads than the sync report covers, one async task: create, one check, download.
What was measured before: a 100,000-ad cycle made 186-191 calls against 115, the extra ones sync pages of
capped reports read before switching to the task. The sandbox's cap is lowered to 2,000 ads here, so a world of
3,000 ads per advertiser takes the task path without a 100,000-ad world.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from monitor.domain import EntityKey, EntityState, Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.sandbox import Fault, SandboxSettings
from monitor.tiktok.client import MAX_PAGE_SIZE
from monitor.tiktok.errors import ApiError
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


@pytest.mark.parametrize("warm", [False, True], ids=["first-poll", "with-previous-snapshot"])
@pytest.mark.parametrize("cap", [CAP, 20_000], ids=["past-the-cap-task", "within-the-cap-sync"])
async def test_a_poll_makes_the_minimum_of_calls(sandbox, make_client, clock, cap, warm):
    # a first poll waits for its ad list to choose; a later one starts its ad reports as the previous snapshot
    # suggests (monitor/fetch_ad_reports.py): right here, so no call more
    client = make_client()
    client.sync_report_ads = cap
    sandbox.report_cache.ad_limit = cap
    advertiser = (await client.advertiser_info([ADV]))[0]
    plan = FetchPlan({level: LevelPlan(DEFAULT_FIELDS[level], windows) for level, windows in WINDOWS.items()})
    known = None
    if warm:
        known = {s.key: s for s in (await fetch_snapshot(client, advertiser, plan, clock.now())).states}
    before = len(sandbox.arrivals)

    result = await fetch_snapshot(client, advertiser, plan, clock.now(), known=known)

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


def typed(states: tuple[EntityState, ...]) -> list[tuple[object, ...]]:
    """Every state with its metrics' types (0 and 0.0 differ, None is no data)."""
    return sorted(
        (
            s.level.value,
            s.id,
            sorted((w, sorted((k, type(v).__name__, v) for k, v in m.items())) for w, m in s.metrics.items()),
        )
        for s in states
    )


AD_PLAN = FetchPlan({Level.AD: LevelPlan(DEFAULT_FIELDS[Level.AD], WINDOWS[Level.AD])})


def ads_known(n: int) -> dict[EntityKey, EntityState]:
    """A previous snapshot of ``n`` ads (made up: only their count matters here)."""
    return {(Level.AD, f"9{i}"): EntityState(Level.AD, f"9{i}", ADV) for i in range(n)}


@pytest.mark.parametrize(
    ("previous_ads", "client_cap", "sandbox_cap", "extra"),
    [
        # 100 ads before, 3,000 now: the sync report guessed says it was capped on page 1, the task follows
        (100, CAP, CAP, {"report/integrated/get/": 2}),
        # 100 ads before, 3,000 now, and the sync report is not capped (the API's cap differs from the client's):
        # the list says task, so the task is read (as without a guess), the sync report's 3 pages were in vain
        (100, CAP, 20_000, {"report/integrated/get/": 6}),
        # 5,000 ads before, 3,000 now, under a cap of 4,000: the task guessed is cancelled or left unread, the
        # sync report read
        (5_000, 4_000, 20_000, None),
    ],
    ids=["guessed-sync-capped", "guessed-sync-complete", "guessed-task"],
)
async def test_a_wrong_guess_from_the_previous_count_reads_what_the_list_says(
    sandbox, make_client, clock, previous_ads, client_cap, sandbox_cap, extra
):
    client = make_client()
    client.sync_report_ads = client_cap
    sandbox.report_cache.ad_limit = sandbox_cap
    advertiser = (await client.advertiser_info([ADV]))[0]
    waited = await fetch_snapshot(client, advertiser, AD_PLAN, clock.now())  # no previous snapshot: it waits
    before = len(sandbox.arrivals)

    result = await fetch_snapshot(client, advertiser, AD_PLAN, clock.now(), known=ads_known(previous_ads))

    assert not result.errors and not waited.errors
    assert typed(result.states) == typed(waited.states)
    assert any(s.metric("spend") for s in result.states)
    paths = [a.path for a in sandbox.arrivals[before:]]
    windows = len(AD_PLAN.levels[Level.AD].windows)
    if extra is not None:  # the lists say task: each window read by one
        assert paths.count("report/task/create/") == windows
        made = {p: paths.count(p) for p in extra}
        assert made == extra
        assert len(paths) == minimum(result.states, AD_PLAN, client_cap) + sum(extra.values())
    else:  # the lists say sync: each window's report is the sync one's 3 pages
        assert paths.count("report/integrated/get/") == 3 * windows


async def test_a_poll_that_fails_leaves_no_report_task_running(sandbox, make_client, clock):
    # the previous snapshot says task: the ad reports' tasks start at once; the ad list fails, the poll fails, and
    # its tasks are not checked or downloaded after it did (it may have released its lease)
    client = make_client()
    advertiser = (await client.advertiser_info([ADV]))[0]
    sandbox.faults.add(Fault(kind="slow", delay=0.3, path="ad/get/"))  # page 1, while the tasks are created
    sandbox.faults.add(Fault(kind="api_code", code=40002, path="ad/get/", count=2))  # pages 2 and 3
    before = len(sandbox.arrivals)
    with pytest.raises(ApiError):
        await fetch_snapshot(client, advertiser, AD_PLAN, clock.now(), known=ads_known(CAP + 1))
    failed_at = len(sandbox.arrivals)
    assert "report/task/create/" in [a.path for a in sandbox.arrivals[before:]]
    await asyncio.sleep(1.5)  # a task is checked a second after it was created
    assert sandbox.arrivals[failed_at:] == []
