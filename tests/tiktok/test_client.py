"""TikTokClient over real loopback HTTP against the sandbox API."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import sys
from datetime import date

import aiohttp
import pytest

from monitor.domain import Level
from monitor.sandbox import Fault
from monitor.sandbox.arrivals import max_in_window
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import AuthError, PermanentApiError, TransientApiError
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy, Transport

ADV = "7000000000000000001"  # America/New_York
EAST = "7000000000000000002"  # Pacific/Auckland
WEST = "7000000000000000003"  # Pacific/Honolulu


def api_arrivals(sandbox, path: str | None = None):
    return [a for a in sandbox.arrivals if path is None or a.path.endswith(path)]


# -- reads -------------------------------------------------------------------------------------------------


async def test_every_page_is_fetched_and_ids_are_unique(sandbox, make_client):
    client = make_client()
    ads = await client.ads(ADV, page_size=5)
    assert len(ads) == 3 * 2 * 4
    assert len({a.id for a in ads}) == len(ads)
    assert len(api_arrivals(sandbox, "ad/get/")) == 5  # 24 ads, 5 per page
    assert all(a.campaign_id and a.adgroup_id and a.advertiser_id == ADV for a in ads)


async def test_default_page_size_is_1000_in_one_call(sandbox, make_client):
    client = make_client()
    campaigns = await client.campaigns(ADV)
    assert len(campaigns) == 3
    assert len(api_arrivals(sandbox, "campaign/get/")) == 1


async def test_only_the_fields_asked_for_are_fetched(make_client):
    client = make_client()
    campaigns = await client.campaigns(ADV, fields=["operation_status"])
    for campaign in campaigns:
        assert campaign.budget is None  # the sandbox answers only the fields asked for: budget was not
        assert campaign.operation_status in ("ENABLE", "DISABLE")
        assert campaign.name  # id and name are always asked for


async def test_advertiser_info_gives_time_zones_far_east_and_west(clock, make_client):
    client = make_client()
    now = clock.now()  # 20:00 UTC
    infos = {i.id: i for i in await client.advertiser_info([ADV, EAST, WEST])}
    assert set(infos) == {ADV, EAST, WEST}
    assert infos[EAST].local_date(now) == date(2026, 11, 25)
    assert infos[WEST].local_date(now) == date(2026, 11, 24)
    assert all(i.currency for i in infos.values())


async def test_advertisers_discovered_with_app_credentials(make_client):
    client = make_client()
    found = await client.advertisers()
    assert {ADV, EAST, WEST} <= {a.id for a in found}


async def test_wrong_app_secret_is_permanent_and_not_echoed(make_client):
    client = make_client(secret="not-the-secret")
    with pytest.raises(PermanentApiError) as info:
        await client.advertisers()
    assert info.value.code == 40101
    assert "not-the-secret" not in str(info.value)


# -- reports -------------------------------------------------------------------------------------------------


async def test_report_parses_numbers_and_keeps_missing_as_none(sandbox, clock, make_client):
    client = make_client()
    info = (await client.advertiser_info([ADV]))[0]
    today = info.local_date(clock.now())
    query = ReportQuery(Level.AD, ("spend", "impressions", "conversion", "cost_per_conversion", "ctr"), today, today)
    report = await client.report(ADV, query, page_size=5)  # fmt: skip
    assert report.rows, "the sandbox world spends during the local day"
    assert not report.truncated
    for row in report.rows:
        assert set(row.dimensions) == {"ad_id"}
        assert isinstance(row.metrics["spend"], int | float)
        assert isinstance(row.metrics["impressions"], int)
        if row.metrics["conversion"] == 0:
            assert row.metrics["cost_per_conversion"] is None  # "0.00" from the API: no data, not 0
    assert any(row.metrics["conversion"] == 0 for row in report.rows)
    assert len(report.request_ids) == len(api_arrivals(sandbox, "report/integrated/get/"))


async def test_async_report_matches_sync_report(clock, make_client):
    client = make_client()
    today = (await client.advertiser_info([ADV]))[0].local_date(clock.now())
    query = ReportQuery(Level.CAMPAIGN, ("spend", "clicks"), start_date=today, end_date=today)
    sync = await client.report(ADV, query)

    async def no_wait(_seconds: float) -> None:
        return None

    via_task = await client.async_report(ADV, query, sleep=no_wait)
    as_map = lambda r: {row.dimensions["campaign_id"]: row.metrics for row in r.rows}  # noqa: E731
    assert as_map(via_task) == as_map(sync)


async def test_lifetime_report_needs_no_dates(make_client):
    client = make_client()
    report = await client.report(ADV, ReportQuery(Level.CAMPAIGN, ("spend",), lifetime=True))
    assert report.rows


# -- errors and retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="http_error", status=500, count=2),
        Fault(kind="http_error", status=503, count=1),
        Fault(kind="api_code", code=50000, count=2),
        Fault(kind="api_code", code=51010, count=1),
        Fault(kind="api_code", code=60001, count=1),
        Fault(kind="html", count=2),
        Fault(kind="disconnect", count=1),
    ],
    ids=lambda f: f"{f.kind}-{f.status if f.kind == 'http_error' else f.code}",
)
async def test_transient_failures_are_retried_until_success(sandbox, make_client, fault):
    failures = fault.count
    sandbox.faults.add(dataclasses.replace(fault))  # the sandbox counts a fault down as it is used
    campaigns = await make_client().campaigns(ADV)
    assert len(campaigns) == 3
    assert len(api_arrivals(sandbox, "campaign/get/")) == failures + 1


async def test_transient_failures_give_up_after_the_bounded_retries(sandbox, make_client):
    sandbox.faults.add(Fault(kind="http_error", status=502, count=50))
    client = make_client(retry=RetryPolicy(max_retries=2, base_delay=0.01))
    with pytest.raises(TransientApiError) as info:
        await client.campaigns(ADV)
    assert info.value.http_status == 502
    assert len(api_arrivals(sandbox)) == 3


async def test_slow_answer_times_out_as_transient(sandbox, make_client):
    sandbox.faults.add(Fault(kind="slow", delay=2.0, count=5))
    client = make_client(timeout=0.2, retry=RetryPolicy(max_retries=1, base_delay=0.01))
    with pytest.raises(TransientApiError, match="timeout"):
        await client.campaigns(ADV)


async def test_app_rate_limit_slows_the_whole_client_then_succeeds(sandbox, make_client):
    limiter = RateLimiter(10)
    sandbox.faults.add(Fault(kind="api_code", code=40100, count=2))
    client = make_client(limiter=limiter)
    results = await asyncio.gather(client.campaigns(ADV), client.campaigns(EAST))
    assert [len(r) for r in results] == [3, 3]
    assert limiter.throttles == 2
    codes = [a.code for a in api_arrivals(sandbox)]
    assert codes.count(40100) == 2 and codes.count(0) == 2


async def test_revoked_token_is_an_auth_error_without_retry(sandbox, make_client):
    sandbox.revoke_token()
    with pytest.raises(AuthError) as info:
        await make_client().campaigns(ADV)
    assert info.value.code == 40105
    assert "re-authorize" in str(info.value)
    assert info.value.request_id
    assert len(api_arrivals(sandbox)) == 1


async def test_unknown_token_is_rejected_and_not_echoed(sandbox, make_client):
    with pytest.raises(AuthError) as info:
        await make_client(token="someone-elses-token").campaigns(ADV)
    assert "someone-elses-token" not in str(info.value)


async def test_permanent_error_is_not_retried_and_keeps_request_id(sandbox, make_client):
    with pytest.raises(PermanentApiError) as info:
        await make_client().report(ADV, ReportQuery(Level.AD, ("No-such-metric",), date(2026, 11, 24)))
    assert info.value.code == 40002
    assert info.value.request_id
    assert len(api_arrivals(sandbox)) == 1


# -- the shared limiter, measured at the server -------------------------------------------------------------


async def test_limiter_holds_max_qps_under_50_concurrent_callers(http, tmp_path):
    """The sandbox runs in its own process, as TikTok does, so its arrival times are not skewed by this test's
    event loop (which also runs the 50 callers); it logs when each request arrived and what it answered."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "--log-level", "warning", "sandbox", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # wait until it listens
            assert server.returncode is None, "the sandbox did not start"
            try:
                async with http.get(f"{base_url}/sandbox/arrivals") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        transport = Transport(http, base_url=base_url, access_token="sandbox-token", limiter=RateLimiter(10))
        client = TikTokClient(transport)
        advertisers = [ADV, EAST, WEST, "7000000000000000004"]
        results = await asyncio.gather(*(client.campaigns(advertisers[i % 4]) for i in range(50)))
        async with http.get(f"{base_url}/sandbox/arrivals") as response:
            arrivals = await response.json()
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()
    assert all(len(r) == 3 for r in results)
    assert len(arrivals) == 50
    assert all(a["code"] == 0 for a in arrivals), "the sandbox never had to throttle"
    assert max_in_window([a["t"] for a in arrivals], 1.0) <= 10


# -- writes -------------------------------------------------------------------------------------------------


async def test_pause_takes_effect_on_later_reads(make_client):
    client = make_client()
    campaign = next(c for c in await client.campaigns(ADV) if c.operation_status == "ENABLE")
    result = await client.update_status(Level.CAMPAIGN, ADV, [campaign.id], "DISABLE")
    assert result.ok and result.succeeded == (campaign.id,)
    assert result.request_ids
    after = {c.id: c for c in await client.campaigns(ADV)}
    assert after[campaign.id].operation_status == "DISABLE"
    assert after[campaign.id].secondary_status == "CAMPAIGN_STATUS_DISABLE"


async def test_status_updates_are_batched_at_20(sandbox, make_client):
    client = make_client()
    ids = [a.id for a in await client.ads(ADV)]
    assert len(ids) == 24
    result = await client.update_status(Level.AD, ADV, ids + ids[:3], "DISABLE")  # duplicates are sent once
    assert sorted(result.succeeded) == sorted(ids)
    assert len(api_arrivals(sandbox, "ad/status/update/")) == 2  # 20 + 4
    assert {a.operation_status for a in await client.ads(ADV)} == {"DISABLE"}


async def test_campaign_budget_update(make_client):
    client = make_client()
    campaign = next(c for c in await client.campaigns(ADV) if c.budget_mode == "BUDGET_MODE_DAY")
    new_budget = round((campaign.budget or 100) * 2, 2)
    result = await client.update_campaign_budget(ADV, campaign.id, new_budget)
    assert result.ok
    after = {c.id: c for c in await client.campaigns(ADV)}
    assert after[campaign.id].budget == pytest.approx(new_budget)


async def test_campaign_budget_below_spend_is_a_recorded_failure(make_client):
    client = make_client()
    campaign = (await client.campaigns(ADV))[0]
    result = await client.update_campaign_budget(ADV, campaign.id, 0.01)
    assert not result.ok
    failure = result.failures[0]
    assert failure.ids == (campaign.id,) and failure.code == 40002 and failure.request_id
    assert not failure.transient


async def test_adgroup_scheduled_budget_waits_for_next_local_day(clock, make_client):
    client = make_client()
    group = next(g for g in await client.adgroups(ADV) if g.budget_mode == "BUDGET_MODE_DAY")
    new_budget = round((group.budget or 50) * 3, 2)
    result = await client.update_adgroup_budgets(ADV, {group.id: new_budget}, scheduled=True)
    assert result.ok
    assert {g.id: g for g in await client.adgroups(ADV)}[group.id].budget == pytest.approx(group.budget)
    clock.advance(24 * 3600)
    assert {g.id: g for g in await client.adgroups(ADV)}[group.id].budget == pytest.approx(new_budget)
