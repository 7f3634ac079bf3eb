"""Sync reports over up to 5 advertisers per call (issue 18, item 4): against the sandbox, each advertiser gets
exactly the report a call of its own gives (rows, values, types, None for "-"), in fewer calls."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

import pytest

from monitor.domain import Level
from monitor.fetch import window_query
from monitor.sandbox import Fault, SandboxSettings
from monitor.tiktok.errors import ApiError
from monitor.tiktok.models import Report, ReportQuery, ReportRow
from monitor.tiktok.report_batch import ReportBatcher, split_rows

PATH = "report/integrated/get/"
DEFAULT = ["7000000000000000001", "7000000000000000002", "7000000000000000003", "7000000000000000004"]
# spend and cpc (money), clicks and impressions (counts; cpc is None where clicks are 0), a metric the sandbox
# answers "-" for (None), and one it does not simulate (0)
METRICS = ("spend", "clicks", "cpc", "impressions", "secondary_goal_result", "conversion")
LIFETIME = ReportQuery(Level.CAMPAIGN, METRICS, lifetime=True)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # the four default advertisers (New York, Auckland, Honolulu, Tokyo; USD, NZD, JPY) and seven UTC ones
    return SandboxSettings(campaigns_per_advertiser=3, adgroups_per_campaign=2, ads_per_adgroup=4, extra_advertisers=7)


def typed(report: Report) -> list[tuple[dict[str, str], dict[str, tuple[type, object]]]]:
    """The rows with each value's type: 0 and 0.0 differ, None is not 0."""
    return [(dict(r.dimensions), {k: (type(v), v) for k, v in r.metrics.items()}) for r in report.rows]


def report_calls(sandbox) -> tuple[int, int]:
    """(calls over advertiser_ids, calls for one advertiser) of report/integrated/get/ the sandbox received."""
    calls = [a for a in sandbox.arrivals if a.path == PATH]
    return sum(a.advertiser_id is None for a in calls), sum(a.advertiser_id is not None for a in calls)


async def together(client, queries: dict[str, ReportQuery]) -> dict[str, Report]:
    """Each advertiser's report, asked for at the same moment, as concurrent polls do."""
    found = await asyncio.gather(*(client.report(a, q, combine=True) for a, q in queries.items()))
    return dict(zip(queries, found, strict=True))


async def alone(client, queries: dict[str, ReportQuery]) -> dict[str, Report]:
    return {a: await client.report(a, q) for a, q in queries.items()}


async def test_each_advertiser_gets_exactly_its_own_report_in_groups_of_at_most_five(sandbox, make_client):
    client = make_client()
    ids = list(sandbox.world.advertisers)
    assert len(ids) == 11
    queries = {a: LIFETIME for a in ids}
    combined = await together(client, queries)
    assert report_calls(sandbox) == (2, 1)  # 5 + 5 over advertiser_ids, the eleventh alone
    single = await alone(client, queries)
    for a in ids:
        assert typed(combined[a]) == typed(single[a]) and combined[a].rows, a
    values = [v for a in ids for row in combined[a].rows for v in row.metrics.values()]
    assert None in values and any(type(v) is int for v in values) and any(type(v) is float for v in values)
    assert all("advertiser_id" not in row.metrics for a in ids for row in combined[a].rows)  # asked for the split
    assert client.report_batcher.sent == 2 and client.report_batcher.answered == 10


async def test_every_level_and_several_pages(sandbox, make_client):
    client = make_client()
    ids = DEFAULT[:1] + [a for a in sandbox.world.advertisers if a not in DEFAULT][:4]  # New York and UTC ones
    for level in (Level.ADVERTISER, Level.ADGROUP, Level.AD):
        query = ReportQuery(level, ("spend", "impressions", "ctr"), date(2026, 11, 20), date(2026, 11, 23))
        queries = {a: query for a in ids}
        combined = await together(client, queries)
        single = await alone(client, queries)
        assert all(typed(combined[a]) == typed(single[a]) and single[a].rows for a in ids), level
    # 24 + 4 x 1 ads in one list, 7 rows a page: 4 pages of one call each
    sandbox.arrivals.clear()
    query = ReportQuery(Level.AD, ("spend",), lifetime=True)
    paged = await asyncio.gather(*(client.report(a, query, page_size=7, combine=True) for a in ids))
    assert report_calls(sandbox) == (4, 0)
    single = await alone(client, {a: query for a in ids})
    assert [typed(r) for r in paged] == [typed(single[a]) for a in ids]


async def test_a_combined_call_stays_within_a_page_of_the_rows_its_polls_expect(sandbox, make_client):
    # 24 ads each, pages of 50: two advertisers share a page, the third would make it two and opens the next
    # group (alone here); a report of a page or more goes alone at once
    client = make_client()
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:3]
    query = ReportQuery(Level.AD, ("spend",), lifetime=True)
    reads = [client.report(a, query, page_size=50, combine=True, rows=24) for a in ids]
    paged = await asyncio.gather(*reads)
    assert report_calls(sandbox) == (1, 1)
    single = await alone(client, {a: query for a in ids})
    assert [typed(r) for r in paged] == [typed(single[a]) for a in ids] and all(r.rows for r in paged)
    sandbox.arrivals.clear()
    reads = [client.report(a, query, page_size=50, combine=True, rows=24 if a != ids[0] else 50) for a in ids]
    assert [typed(r) for r in await asyncio.gather(*reads)] == [typed(r) for r in paged]
    assert report_calls(sandbox) == (1, 1)  # the first alone, the other two in one call


async def test_a_poll_alone_does_not_wait_for_others(sandbox, make_client):
    # run's polls have phases of their own in the interval: most run alone and must not wait for a group. The
    # gather here is long; a lone request still goes out at once, and so does a group as soon as 5 joined
    client = make_client()
    client.report_batcher = ReportBatcher(client._report_over, gather=30.0, most=30.0)
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:5]
    report = await asyncio.wait_for(client.report(ids[0], LIFETIME, combine=True), timeout=10)
    assert report_calls(sandbox) == (0, 1) and report.rows
    combined = await asyncio.wait_for(together(client, {a: LIFETIME for a in ids}), timeout=10)
    assert report_calls(sandbox) == (1, 1)
    assert typed(combined[ids[0]]) == typed(report)


async def test_advertisers_on_different_local_dates_are_read_in_separate_calls(sandbox, make_client, clock):
    client = make_client()
    infos = await client.advertiser_info(DEFAULT)
    now = clock.now()  # 20:00 UTC: the 24th in New York and Honolulu, already the 25th in Auckland and Tokyo
    queries = {i.id: window_query("today", Level.CAMPAIGN, METRICS, i.local_date(now)) for i in infos}
    assert len({q.start_date for q in queries.values()}) == 2
    sandbox.arrivals.clear()
    combined = await together(client, queries)
    assert report_calls(sandbox) == (2, 0)  # one call per local date
    single = await alone(client, queries)
    assert all(typed(combined[a]) == typed(single[a]) for a in queries)


async def test_a_combination_the_api_refuses_falls_back_to_one_call_each_and_is_not_tried_again(
    sandbox, make_client, caplog
):
    # the sandbox refuses a report over advertiser_ids without the level's id dimension (40002), as TikTok
    # cannot add up spend across currencies there; the same report of one advertiser is answered
    client = make_client()
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:3]
    query = ReportQuery(Level.CAMPAIGN, ("spend", "clicks"), date(2026, 11, 22), dimensions=("stat_time_day",))
    queries = {a: query for a in ids}
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.report_batch"):
        first = await together(client, queries)
        refused = [a for a in sandbox.arrivals if a.path == PATH and a.advertiser_id is None]
        assert [a.code for a in refused] == [40002]
        assert report_calls(sandbox) == (1, 3)
        second = await together(client, queries)
    assert report_calls(sandbox) == (1, 6)  # not tried again: one failed call, not one per poll
    single = await alone(client, queries)
    assert all(typed(first[a]) == typed(single[a]) == typed(second[a]) and single[a].rows for a in ids)
    assert client.report_batcher.refused(query)
    assert not client.report_batcher.refused(LIFETIME)  # other reports are still combined
    assert len([r for r in caplog.records if "advertiser_ids" in r.getMessage()]) == 1  # logged once


async def test_a_refusal_naming_an_advertiser_leaves_only_that_advertiser_alone(sandbox, make_client, caplog):
    # TikTok combines only accounts of one TikTok for Business user: a refusal that names an advertiser (here one
    # the token does not reach) sends that one alone from then on; the others are still combined
    client = make_client()
    good = [a for a in sandbox.world.advertisers if a not in DEFAULT][:2]
    stranger = "7000000000000000099"
    queries = {a: LIFETIME for a in [*good, stranger]}
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.report_batch"):
        first = await asyncio.gather(
            *(client.report(a, LIFETIME, combine=True) for a in queries), return_exceptions=True
        )
        assert [a.code for a in sandbox.arrivals if a.path == PATH and a.advertiser_id is None] == [40002]
        assert report_calls(sandbox) == (1, 3)
        second = await asyncio.gather(
            *(client.report(a, LIFETIME, combine=True) for a in queries), return_exceptions=True
        )
    assert report_calls(sandbox) == (2, 4)  # the two others combined again, the stranger alone
    assert isinstance(first[2], ApiError) and isinstance(second[2], ApiError)
    single = await alone(client, {a: LIFETIME for a in good})
    assert [typed(r) for r in first[:2]] == [typed(r) for r in second[:2]] == [typed(single[a]) for a in good]
    assert client.report_batcher.refused(LIFETIME, stranger) and not client.report_batcher.refused(LIFETIME, good[0])
    assert len(caplog.records) == 1 and stranger in caplog.records[0].getMessage()


async def test_an_answer_naming_an_advertiser_not_asked_for_turns_combining_off(sandbox, make_client, caplog):
    client = make_client()
    ids = DEFAULT[:1] + [a for a in sandbox.world.advertisers if a not in DEFAULT][:2]
    stranger = [{"op": "replace", "path": "/data/list/0/metrics/advertiser_id", "value": "7000000000000000002"}]
    sandbox.faults.add(Fault(kind="patch", path=PATH, patch=stranger))
    queries = {a: LIFETIME for a in ids}
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.report_batch"):
        first = await together(client, queries)
        assert report_calls(sandbox) == (1, 3)
        await together(client, queries)
    assert report_calls(sandbox) == (1, 6)
    assert client.report_batcher.off and "7000000000000000002" in client.report_batcher.off
    single = await alone(client, queries)
    assert all(typed(first[a]) == typed(single[a]) for a in ids)
    assert len(caplog.records) == 1


async def test_a_cancelled_poll_does_not_break_the_others(sandbox, make_client):
    client = make_client()
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:4]
    tasks = {a: asyncio.create_task(client.report(a, LIFETIME, combine=True)) for a in ids}
    await asyncio.sleep(0)  # every request has joined its group
    tasks[ids[0]].cancel()
    done = {a: await t for a, t in tasks.items() if a != ids[0]}
    assert tasks[ids[0]].cancelled()
    assert report_calls(sandbox) == (1, 0)  # the three others in one call
    single = await alone(client, {a: LIFETIME for a in done})
    assert all(typed(done[a]) == typed(single[a]) for a in done)
    # all but one cancelled: the last one reads its own, nothing is sent for the others
    sandbox.arrivals.clear()
    tasks = {a: asyncio.create_task(client.report(a, LIFETIME, combine=True)) for a in ids[:3]}
    await asyncio.sleep(0)
    tasks[ids[0]].cancel()
    tasks[ids[1]].cancel()
    assert typed(await tasks[ids[2]]) == typed(single[ids[2]])
    assert report_calls(sandbox) == (0, 1)


async def test_the_combined_call_counts_once_in_the_poll_that_opened_the_group(sandbox, make_client):
    from monitor.tiktok.callcount import counting_calls

    client = make_client()
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:3]
    with counting_calls() as everything:
        counters = {}

        async def poll(a: str) -> Report:
            with counting_calls() as counters[a]:
                return await client.report(a, LIFETIME, combine=True)

        await asyncio.gather(*(poll(a) for a in ids))
    assert everything.n == 1 == report_calls(sandbox)[0]
    assert [counters[a].n for a in ids] == [1, 0, 0]


async def test_requests_that_say_how_many_ads_they_cover_are_grouped_within_the_cap(sandbox, make_client):
    # the sync report's cap (20,000 ads; 30 here) applies across the advertisers of a combined call: a group that
    # would pass it leaves without the advertiser that would, which opens the next; one past it alone goes alone
    client = make_client()
    ids = [a for a in sandbox.world.advertisers if a not in DEFAULT][:5]
    query = ReportQuery(Level.AD, ("spend", "impressions"), lifetime=True)

    async def asking(advertiser_id: str, ads: int) -> Report:
        return await client.report(advertiser_id, query, combine=True, ads=ads)

    client.sync_report_ads = 30
    found = await asyncio.gather(*(asking(a, n) for a, n in zip(ids, [12, 12, 12, 12, 31], strict=True)))
    assert report_calls(sandbox) == (2, 1)  # {1, 2} (24 ads), {3, 4} (24), and the fifth alone (31)
    single = await alone(client, {a: query for a in ids})
    assert [typed(r) for r in found] == [typed(single[a]) for a in ids]
    assert all(r.rows for r in found)


def test_money_sent_without_decimals_keeps_the_single_reports_type():
    # tiktok-api.md §7.1: with advertiser_ids "money values lose their decimal formatting" (verify): "15" where
    # the single report says "15.00"; the split makes money floats again, counts stay ints, None stays None
    row = ReportRow({"campaign_id": "1"}, {"spend": 15, "cost_per_conversion": 3, "clicks": 4, "cpc": None})
    split = split_rows([("7", row)], ["7", "8"], ("spend", "cost_per_conversion", "clicks", "cpc"))
    assert split["8"] == []
    (only,) = split["7"]
    assert {k: (type(v), v) for k, v in only.metrics.items()} == {
        "spend": (float, 15.0),
        "cost_per_conversion": (float, 3.0),
        "clicks": (int, 4),
        "cpc": (type(None), None),
    }
    with pytest.raises(ValueError, match="9"):
        split_rows([("9", row)], ["7", "8"], ("spend",))
