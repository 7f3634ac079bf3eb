"""A poll with a previous snapshot starts its ad-level reports at once, as that snapshot suggests (issue 18, item 4:
monitor/fetch_ad_reports.py): combined with other polls' ad reports instead of waiting for its own lists, and
always the values of the report its lists choose (here: what a poll without a previous snapshot reads, which
waits for them, as every poll did before)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from test_combined_reports_e2e import report_calls  # (imported by bare name: tests/ is not a package)

from monitor.domain import EntityState, Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.fetch_ad_reports import AdRead, guess
from monitor.sandbox import Fault, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS
from monitor.tiktok.ratelimit import RateLimiter

SMART = "7000000000000000001"  # a regular advertiser (New York): its last campaign is Upgraded Smart+
UPGRADED = "UPGRADED_SMART_PLUS"
# campaigns listed (they say which are Smart+), ad-level windows only: every report call is an ad-level one
PLAN = FetchPlan(
    {
        Level.CAMPAIGN: LevelPlan(DEFAULT_FIELDS[Level.CAMPAIGN]),
        Level.AD: LevelPlan(DEFAULT_FIELDS[Level.AD], {"today": ("spend", "ctr"), "lifetime": ("spend",)}),
    }
)
AD_WINDOWS = len(PLAN.levels[Level.AD].windows)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # the four regular advertisers (one Smart+ campaign each) and four UTC ones (never Smart+); no rate limit to
    # speak of: when the lists come back is decided by the faults below
    return SandboxSettings(
        qps=1000,
        campaigns_per_advertiser=3,
        adgroups_per_campaign=2,
        ads_per_adgroup=4,
        extra_advertisers=4,
        smart_plus_campaigns=1,
    )


def typed(states: tuple[EntityState, ...]) -> list[tuple[object, ...]]:
    """Every state with its metrics' types (0 and 0.0 differ, None is no data) and its Smart+ flag."""
    return sorted(
        (
            s.level.value,
            s.id,
            s.name,
            s.smart_plus,
            sorted((w, sorted((k, type(v).__name__, v) for k, v in m.items())) for w, m in s.metrics.items()),
        )
        for s in states
    )


def previous(states: tuple[EntityState, ...]) -> dict:
    return {s.key: s for s in states}


async def test_ad_reports_of_polls_whose_lists_come_back_apart_share_one_call(sandbox, make_client, clock):
    client = make_client(limiter=RateLimiter(1000))
    ids = [extra_advertiser_id(i) for i in range(4)]
    infos = await client.advertiser_info(ids)
    now = clock.now()
    first = await asyncio.gather(*(fetch_snapshot(client, i, PLAN, now) for i in infos))
    # one advertiser's ad list comes back 1.5 s after the others' (a busy limiter spreads them like this): its ad
    # reports waited for it and went alone, a call per window more
    sandbox.faults.add(Fault(kind="slow", delay=1.5, path="ad/get/", advertiser_id=ids[2]))
    sandbox.arrivals.clear()

    warm = await asyncio.gather(
        *(fetch_snapshot(client, i, PLAN, now, known=previous(f.states)) for i, f in zip(infos, first, strict=True))
    )

    assert report_calls(sandbox) == (AD_WINDOWS, 0)  # the four advertisers' report of each window in one call
    for mine, cold in zip(warm, first, strict=True):
        assert not mine.errors
        assert typed(mine.states) == typed(cold.states)
        assert any(s.metric("spend") for s in mine.states if s.level is Level.AD)


async def test_ad_reports_are_combined_only_as_far_as_the_sync_reports_cap_goes(sandbox, make_client, clock):
    # TikTok caps a sync report over several advertisers at 20,000 ads in all (here 40): two advertisers of 24 ads
    # each (New York and Honolulu, on the same local date) go in a call each, not in one capped call followed by a
    # call each
    ids = ["7000000000000000001", "7000000000000000003"]
    for advertiser_id in ids:
        for campaign in sandbox.world.advertisers[advertiser_id].campaigns:
            campaign.automation_type = "MANUAL"
    client = make_client(limiter=RateLimiter(1000))
    client.sync_report_ads = sandbox.report_cache.ad_limit = 40
    infos = await client.advertiser_info(ids)
    now = clock.now()
    assert infos[0].local_date(now) == infos[1].local_date(now)
    first = await asyncio.gather(*(fetch_snapshot(client, i, PLAN, now) for i in infos))
    assert [sum(1 for s in f.states if s.level is Level.AD) for f in first] == [24, 24]
    sandbox.arrivals.clear()

    warm = await asyncio.gather(
        *(fetch_snapshot(client, i, PLAN, now, known=previous(f.states)) for i, f in zip(infos, first, strict=True))
    )

    assert report_calls(sandbox) == (0, 2 * AD_WINDOWS)
    for mine, cold in zip(warm, first, strict=True):
        assert not mine.errors
        assert typed(mine.states) == typed(cold.states)


async def test_a_first_poll_waits_for_its_lists(sandbox, make_client, clock):
    # no previous snapshot with ads: nothing to guess from, the report is read as the lists say, in one go
    client = make_client(limiter=RateLimiter(1000))
    advertiser = (await client.advertiser_info([SMART]))[0]
    campaigns_only = FetchPlan({Level.CAMPAIGN: PLAN.levels[Level.CAMPAIGN]})
    before = await fetch_snapshot(client, advertiser, campaigns_only, clock.now())
    for known in (None, {}, previous(before.states)):
        sandbox.arrivals.clear()
        result = await fetch_snapshot(client, advertiser, PLAN, clock.now(), known=known)
        assert not result.errors
        assert any(s.smart_plus for s in result.states if s.level is Level.AD)
        assert report_calls(sandbox) == (0, AD_WINDOWS)  # keyed by ad_id_v2 from the start: no call in vain


def knowing(found: bool | None, asked: list[bool | None] | None = None) -> Callable[[], Awaitable[bool | None]]:
    """What the pipeline hands the fetch (monitor.smart_plus_seen): the advertiser's latest finding of Smart+."""

    async def ask() -> bool | None:
        if asked is not None:
            asked.append(found)
        return found

    return ask


async def test_smart_plus_known_keys_the_early_ad_reports_and_a_wrong_or_missing_finding_reads_again(
    sandbox, make_client, clock
):
    client = make_client(limiter=RateLimiter(1000))
    advertiser = (await client.advertiser_info([SMART]))[0]
    cold = await fetch_snapshot(client, advertiser, PLAN, clock.now())
    assert cold.smart_plus is True  # what the pipeline stores with the poll and remembers
    known = previous(cold.states)
    # the finding right (each `once` that reads it stored, a `run` that remembers it): each window read once; not
    # known or wrong: started keyed by ad_id, read again by ad_id_v2 once campaign/get says so
    for found, calls in ((True, (0, AD_WINDOWS)), (False, (0, 2 * AD_WINDOWS)), (None, (0, 2 * AD_WINDOWS))):
        sandbox.arrivals.clear()
        warm = await fetch_snapshot(client, advertiser, PLAN, clock.now(), known=known, smart_plus_known=knowing(found))
        assert report_calls(sandbox) == calls, found
        assert typed(warm.states) == typed(cold.states)
        assert warm.smart_plus is True

    # the Smart+ campaign is an ordinary one now: the finding is wrong, ad_id is read
    for campaign in sandbox.world.advertisers[SMART].campaigns:
        campaign.automation_type = "MANUAL"
    plain = await fetch_snapshot(TikTokClient(client.transport, report_gather=None), advertiser, PLAN, clock.now())
    sandbox.arrivals.clear()
    now_plain = await fetch_snapshot(client, advertiser, PLAN, clock.now(), known=known, smart_plus_known=knowing(True))
    assert typed(now_plain.states) == typed(plain.states) != typed(cold.states)
    assert not any(s.smart_plus for s in now_plain.states)
    assert report_calls(sandbox) == (0, 2 * AD_WINDOWS)
    assert now_plain.smart_plus is False


async def test_the_finding_is_asked_only_when_ad_reports_are_guessed(sandbox, make_client, clock):
    # asking may read the database: not for a first poll, nor a plan without ad-level windows
    client = make_client(limiter=RateLimiter(1000))
    advertiser = (await client.advertiser_info([SMART]))[0]
    lists_only = FetchPlan({level: LevelPlan(plan.fields) for level, plan in PLAN.levels.items()})
    asked: list[bool | None] = []
    cold = await fetch_snapshot(client, advertiser, PLAN, clock.now(), smart_plus_known=knowing(True, asked))
    await fetch_snapshot(
        client, advertiser, lists_only, clock.now(), known=previous(cold.states), smart_plus_known=knowing(True, asked)
    )
    assert asked == []
    await fetch_snapshot(
        client, advertiser, PLAN, clock.now(), known=previous(cold.states), smart_plus_known=knowing(True, asked)
    )
    assert asked == [True]


def test_the_guess_comes_from_the_previous_snapshots_ads():
    def ads(n: int) -> dict:
        states = [EntityState(Level.AD, str(i), "1") for i in range(n)] + [EntityState(Level.CAMPAIGN, "c", "1")]
        return previous(tuple(states))

    assert guess(None, 3, smart_plus=False) is None
    assert guess({}, 3, smart_plus=True) is None
    assert guess(ads(0), 3, smart_plus=False) is None  # ads were not read: nothing to go by
    assert guess(ads(3), 3, smart_plus=False) == AdRead(use_task=False, smart_plus=False, ads=3)
    assert guess(ads(4), 3, smart_plus=True) == AdRead(use_task=True, smart_plus=True, ads=4)


async def test_smart_plus_campaigns_that_cannot_be_read_make_the_finding_unknown(sandbox, make_client, clock):
    # ads listed without campaigns: smart_plus/campaign/get says which campaigns are Smart+; when it fails the
    # poll cannot tell (None: nothing is stored or remembered, what was known stays; monitor.smart_plus_seen)
    ads_only = FetchPlan({Level.AD: PLAN.levels[Level.AD]})
    client = make_client(limiter=RateLimiter(1000))
    advertiser = (await client.advertiser_info([SMART]))[0]
    first = await fetch_snapshot(client, advertiser, ads_only, clock.now())
    assert first.smart_plus is True
    sandbox.faults.add(Fault(kind="api_code", code=40002, message="bad", path="smart_plus/campaign/get/"))
    blind = await fetch_snapshot(client, advertiser, ads_only, clock.now(), known=previous(first.states))
    assert blind.smart_plus is None
    assert any("Upgraded Smart+ campaigns" in error for error in blind.errors)
