"""A report combined over advertisers reads one page (issue 18, "reports over up to 5 advertisers per call"): a
report its poll expects to fill a page goes alone, as with others it would take a page more and share nothing.
Counted from the sandbox's arrivals."""

from __future__ import annotations

import asyncio

import pytest

from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.sandbox import LARGE_ADVERTISER_ID, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.tiktok.ratelimit import RateLimiter

PATH = "report/integrated/get/"
ACME = "7000000000000000001"  # America/New_York
PLAN = FetchPlan({Level.AD: LevelPlan(("operation_status",), {"today": ("spend", "clicks")})})


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # the benchmark account with 1,000 ads (a page of the ad report) and five small ones, all on UTC
    return SandboxSettings(
        qps=1000, large_ads=1000, extra_advertisers=5, campaigns_per_advertiser=1, adgroups_per_campaign=1
    )


def report_calls(sandbox) -> tuple[int, int]:
    """(calls over advertiser_ids, calls for one advertiser) of report/integrated/get/."""
    calls = [a for a in sandbox.arrivals if a.path == PATH]
    return sum(a.advertiser_id is None for a in calls), sum(a.advertiser_id is not None for a in calls)


async def test_a_report_of_a_page_or_more_is_read_alone_and_the_small_ones_share_a_call(sandbox, make_client, clock):
    # Warm polls know their ads from the previous snapshot. The large account's 1,000 fill a page: it goes alone
    # and the five small accounts share one call, 2 calls. Combined with four of them it took 2 pages and the
    # fifth a call of its own: 3 (bench/cycle.py's account of 1,000 ad groups, at 100,000 ads, the same).
    client = make_client(limiter=RateLimiter(1000))
    ids = [LARGE_ADVERTISER_ID, *(extra_advertiser_id(i) for i in range(5))]
    infos = await client.advertiser_info(ids)
    assert [i.id for i in infos] == ids
    now = clock.now()
    first = await asyncio.gather(*(fetch_snapshot(client, i, PLAN, now) for i in infos))
    assert sum(1 for s in first[0].states if s.level is Level.AD) == 1000
    known = [{s.key: s for s in fetched.states} for fetched in first]
    sandbox.arrivals.clear()
    warm = await asyncio.gather(
        *(fetch_snapshot(client, i, PLAN, now, known=k) for i, k in zip(infos, known, strict=True))
    )
    assert report_calls(sandbox) == (1, 1)  # before: (2, 1)
    for fetched, before in zip(warm, first, strict=True):
        assert not fetched.errors and sorted(map(repr, fetched.states)) == sorted(map(repr, before.states))
        assert any(s.metrics.get("today") for s in fetched.states)


@pytest.mark.parametrize(
    "sandbox_settings",
    [
        SandboxSettings(
            qps=1000, extra_advertisers=5, campaigns_per_advertiser=1000, adgroups_per_campaign=1, ads_per_adgroup=1
        )
    ],
)
async def test_a_campaign_report_of_a_page_goes_alone_as_the_previous_snapshot_counts_its_campaigns(
    sandbox, make_client, clock
):
    # A level above the ads goes by the previous snapshot's count of that level's entities (Acme's local date is
    # UTC's at T0: its report may combine with the five small accounts')
    client = make_client(limiter=RateLimiter(1000))
    ids = [ACME, *(extra_advertiser_id(i) for i in range(5))]
    plan = FetchPlan({Level.CAMPAIGN: LevelPlan(("operation_status",), {"today": ("spend", "clicks")})})
    infos = await client.advertiser_info(ids)
    now = clock.now()
    first = await asyncio.gather(*(fetch_snapshot(client, i, plan, now) for i in infos))
    assert [len(f.states) for f in first] == [1000, 1, 1, 1, 1, 1]
    known = [{s.key: s for s in fetched.states} for fetched in first]
    sandbox.arrivals.clear()
    warm = await asyncio.gather(
        *(fetch_snapshot(client, i, plan, now, known=k) for i, k in zip(infos, known, strict=True))
    )
    # by the estimate (1,000 campaigns known) Acme's report fills a page and goes alone, the five small accounts
    # share a call; not counted, Acme's would join four of them and the fifth go alone (its rows happen to fit a
    # page: only the campaigns that delivered today have one)
    assert report_calls(sandbox) == (1, 1)
    assert [a.advertiser_id for a in sandbox.arrivals if a.path == PATH and a.advertiser_id] == [ACME]
    for fetched, before in zip(warm, first, strict=True):
        assert not fetched.errors and sorted(map(repr, fetched.states)) == sorted(map(repr, before.states))
