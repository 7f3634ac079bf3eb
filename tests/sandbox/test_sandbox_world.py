"""The world model without HTTP: determinism, the benchmark account, accrual building blocks, serve_forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial

import aiohttp
import pytest
from sandbox_http import NY, START, Api

from monitor.sandbox import LARGE_ADVERTISER_ID, Sandbox, SandboxSettings, World, serve_forever
from monitor.sandbox.entities import ENABLE, INFINITE, TOTAL, AdGroup
from monitor.sandbox.intervals import IntervalSet
from monitor.sandbox.ledger import _campaign_stop
from monitor.sandbox.localtime import AccountCalendar


def _fingerprint(world: World, now: float) -> list[tuple]:
    out = []
    for adv in world.advertisers.values():
        for c in adv.campaigns:
            out.append(
                (
                    c.campaign_id,
                    c.name,
                    c.budget_mode,
                    c.budgets.at(now),
                    c.create_time,
                    world.secondary_status(c, now),
                    round(world.spend_lifetime(c, now), 6),
                )
            )
            for g in c.adgroups:
                out.append((g.adgroup_id, g.name, g.budgets.at(now), world.secondary_status(g, now)))
                out.extend((a.ad_id, a.name, a.rate, a.ctr, a.cvr, world.secondary_status(a, now)) for a in g.ads)
    return out


def test_same_settings_and_start_give_the_same_world() -> None:
    now = START.timestamp() + 4000
    a, b = World(SandboxSettings(), START), World(SandboxSettings(), START)
    assert _fingerprint(a, now) == _fingerprint(b, now)
    later = World(SandboxSettings(), START + timedelta(hours=5))
    assert _fingerprint(later, now + 5 * 3600) != _fingerprint(a, now)


def test_settings_shape_the_world() -> None:
    w = World(SandboxSettings(campaigns_per_advertiser=5, adgroups_per_campaign=1, ads_per_adgroup=4), START)
    adv = w.advertisers[NY]
    assert len(adv.campaigns) == 5 and len(adv.adgroup_index) == 5 and len(adv.ad_index) == 20
    assert len(w.advertisers) == 4
    assert len({a.ad_id for a in w.ads()}) == 80


def test_large_account_builds_fast_and_keeps_ad_groups_small() -> None:
    started = time.perf_counter()
    w = World(SandboxSettings(large_ads=100_000), START)
    big = w.advertisers[LARGE_ADVERTISER_ID]
    lifetime = sum(w.spend_lifetime(c, START.timestamp()) for c in big.campaigns)
    assert time.perf_counter() - started < 5.0
    assert len(big.ad_index) == 100_000 and big.zone_name == "UTC" and big.currency == "USD"
    assert max(len(g.ads) for g in big.adgroup_index.values()) <= 100
    assert lifetime > 0


async def test_large_account_paginates_and_throttles_ad_reports(make_sandbox, serve) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(large_ads=21_000)
    api: Api = await serve(sb)
    first = await api.get("ad/get/", advertiser_id=LARGE_ADVERTISER_ID, page_size="1000", fields=["ad_id"])
    assert first.data["page_info"] == {"page": 1, "page_size": 1000, "total_number": 21_000, "total_page": 21}
    last = await api.get("ad/get/", advertiser_id=LARGE_ADVERTISER_ID, page_size="1000", page="21", fields=["ad_id"])
    ids = [a["ad_id"] for a in first.data["list"] + last.data["list"]]
    assert len(ids) == 2000 == len(set(ids)) and ids == sorted(ids, key=int, reverse=True)
    params = {
        "advertiser_id": LARGE_ADVERTISER_ID,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id"],
        "query_lifetime": "true",
        "page_size": "1000",
    }
    r = await api.get("report/integrated/get/", **params)
    assert r.headers.get("X-Tt-Ads-Throttle") == "true"
    assert r.data["page_info"]["total_number"] == 20_000
    by_age = sorted(
        sb.world.advertisers[LARGE_ADVERTISER_ID].ad_index.values(), key=lambda a: (a.create_time, int(a.ad_id))
    )
    assert r.data["list"][0]["dimensions"]["ad_id"] == by_age[-1].ad_id
    last = await api.get("report/integrated/get/", **params, page="20")
    assert last.data["list"][-1]["dimensions"]["ad_id"] == by_age[1000].ad_id  # the 1 000 oldest are left out
    campaign_level = await api.get(
        "report/integrated/get/", **{**params, "data_level": "AUCTION_CAMPAIGN", "dimensions": ["campaign_id"]}
    )
    assert "X-Tt-Ads-Throttle" not in campaign_level.headers


def test_interval_set_measures_and_merges() -> None:
    s = IntervalSet([(0, 10), (10, 15), (20, 30)])
    assert list(s) == [(0, 15), (20, 30)]
    assert s.measure(5, 25) == 15 and s.upto(100) == 25 and s.measure(16, 19) == 0
    with pytest.raises(ValueError):
        s.append(1, 2)


def test_campaign_cap_stops_all_groups_at_once() -> None:
    fake = AdGroup.__new__(AdGroup)
    live = [(float("inf"), 1.0, fake), (float("inf"), 3.0, fake)]
    assert _campaign_stop(0.0, 40.0, live) == pytest.approx(10.0)  # 4 money per unit -> 10 units
    live = [(2.0, 1.0, fake), (float("inf"), 3.0, fake)]  # the first group hits its own cap at 2
    assert _campaign_stop(0.0, 20.0, live) == pytest.approx(2 + 12 / 3)
    assert _campaign_stop(0.0, float("inf"), live) == float("inf")
    assert _campaign_stop(5.0, 0.0, live) == 5.0


def test_dst_days_have_merged_hours() -> None:
    cal = AccountCalendar("America/New_York")
    fall_back = cal.hours(date(2026, 11, 1))  # 25 hours; 01:00 happens twice
    assert len(fall_back) == 24 and fall_back[1][0] == "2026-11-01 01:00:00"
    assert fall_back[1][2] - fall_back[1][1] == 7200
    assert len(cal.hours(date(2026, 3, 8))) == 23
    assert cal.in_budget_lock(datetime(2026, 11, 25, 4, 56, tzinfo=UTC).timestamp())
    assert not cal.in_budget_lock(datetime(2026, 11, 25, 4, 54, tzinfo=UTC).timestamp())


def test_world_mix_of_modes_and_lifetime_budgets_hold() -> None:
    w = World(SandboxSettings(), START)
    now = START.timestamp() + 86_400 * 3
    for adv in w.advertisers.values():
        for c in adv.campaigns:
            if c.budget_mode == TOTAL:
                assert w.spend_lifetime(c, now) <= c.budgets.at(now)
            assert c.budget_mode != INFINITE or c.budgets.at(now) == 0.0
            for g in c.adgroups:
                assert w.state(c, now).day_spend[g.adgroup_id] <= (g.budgets.at(now) or 0) + 1e-6 or (
                    g.budget_mode == TOTAL
                )
    assert w.advertisers[NY].campaigns[0].statuses.at(now) == ENABLE


async def test_serve_forever_serves_until_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monitor.sandbox")
    built: list[int] = []  # the sandbox command tunes the collector then (monitor.sandbox_command)
    task = asyncio.create_task(serve_forever(SandboxSettings(), "127.0.0.1", 0, on_built=lambda: built.append(1)))
    url = None
    for _ in range(200):
        await asyncio.sleep(0.01)
        found = [m for m in (r.getMessage() for r in caplog.records) if "sandbox on http://" in m]
        if found:
            url = re.search(r"http://\S+", found[0]).group(0)  # type: ignore[union-attr]
            break
    assert url is not None
    assert built == [1]
    assert any("7000000000000000004" in r.getMessage() for r in caplog.records)
    async with (
        aiohttp.ClientSession() as s,
        s.get(
            url + "/open_api/v1.3/campaign/get/",
            params={"advertiser_id": NY},
            headers={"Access-Token": "sandbox-token"},
        ) as r,
    ):
        assert (await r.json())["code"] == 0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()


def test_sandbox_uses_the_clock_it_is_given() -> None:
    sb = Sandbox(SandboxSettings())
    assert abs(sb.now() - datetime.now(UTC).timestamp()) < 5


def test_flat_delivery_spends_as_much_at_dawn_as_in_the_evening() -> None:
    """``delivery_amplitude=0`` (``sandbox --flat-delivery``, the benchmarks): every hour of the day spends alike, so
    how many entities change between two polls does not depend on the hour a benchmark runs; the usual world
    spends most in each account's evening."""
    midnight = datetime(2026, 11, 26, tzinfo=UTC).timestamp()  # the day after START; the large account is UTC

    def hour_spend(world: World, hour: int) -> float:
        campaign = world.advertisers[LARGE_ADVERTISER_ID].campaigns[0]  # uncapped: spends by the curve alone
        start = midnight + hour * 3600
        return world.spend_lifetime(campaign, start + 3600) - world.spend_lifetime(campaign, start)

    flat = World(SandboxSettings(large_ads=200, delivery_amplitude=0.0), START)
    usual = World(SandboxSettings(large_ads=200), START)
    assert hour_spend(flat, 4) == pytest.approx(hour_spend(flat, 20), rel=1e-9) and hour_spend(flat, 4) > 0
    assert hour_spend(usual, 20) > 2 * hour_spend(usual, 4)
    assert sum(map(partial(hour_spend, flat), range(24))) == pytest.approx(
        sum(map(partial(hour_spend, usual), range(24))), rel=1e-6
    )  # the same spend over a whole day: only its spread changes
    every = World(SandboxSettings(large_ads=10, extra_advertisers=2, delivery_amplitude=0.0), START)
    assert len(every.advertisers) == 4 + 1 + 2  # the regular accounts, the large one and the extra ones
    for advertiser in every.advertisers.values():
        assert {advertiser.curve.f(midnight + hour * 3600) for hour in range(24)} == {1.0}


@pytest.mark.parametrize("amplitude", [-0.1, 1.0])
def test_a_delivery_amplitude_outside_0_to_1_is_refused(amplitude: float) -> None:
    with pytest.raises(ValueError, match="delivery_amplitude"):
        SandboxSettings(delivery_amplitude=amplitude)
