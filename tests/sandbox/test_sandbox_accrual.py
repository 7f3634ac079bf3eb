"""Spend accrual over time: growth, pauses, budget caps, local days, rejections — observed over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox_http import AKL, HNL, NY, Api, report

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox

NY_TODAY = "2026-11-24"  # at START it is 16:30 in New York


def _spend(rows: dict, key: str) -> float:
    return float(rows[key]["spend"]) if key in rows else 0.0


async def test_spend_grows_with_time(api: Api, sandbox: Sandbox, clock: FrozenClock) -> None:
    c = sandbox.world.advertisers[NY].campaigns[1]
    before = await report(api, NY, "AUCTION_CAMPAIGN", NY_TODAY)
    clock.advance(1800)
    after = await report(api, NY, "AUCTION_CAMPAIGN", NY_TODAY)
    assert _spend(after, c.campaign_id) > _spend(before, c.campaign_id) + 5  # ~45 USD/h
    assert int(after[c.campaign_id]["impressions"]) > int(before[c.campaign_id]["impressions"])


async def test_pause_stops_accrual_and_enable_restarts_it(api: Api, sandbox: Sandbox, clock: FrozenClock) -> None:
    ad = sandbox.world.advertisers[NY].campaigns[1].adgroups[1].ads[0]
    r = await api.post("ad/status/update/", {"advertiser_id": NY, "ad_ids": [ad.ad_id], "operation_status": "DISABLE"})
    assert r.code == 0 and r.data == {"ad_ids": [ad.ad_id], "aco_ad_ids": [], "status": "DISABLE"}
    paused = _spend(await report(api, NY, "AUCTION_AD", NY_TODAY, ids=[ad.ad_id]), ad.ad_id)
    clock.advance(3600)
    assert _spend(await report(api, NY, "AUCTION_AD", NY_TODAY, ids=[ad.ad_id]), ad.ad_id) == paused
    listed = await api.get("ad/get/", advertiser_id=NY, filtering={"ad_ids": [ad.ad_id]})
    assert listed.data["list"][0]["secondary_status"] == "AD_STATUS_DISABLE"
    await api.post("ad/status/update/", {"advertiser_id": NY, "ad_ids": [ad.ad_id], "operation_status": "ENABLE"})
    clock.advance(3600)
    assert _spend(await report(api, NY, "AUCTION_AD", NY_TODAY, ids=[ad.ad_id]), ad.ad_id) > paused + 1


async def test_pausing_a_campaign_stops_every_child(api: Api, sandbox: Sandbox, clock: FrozenClock) -> None:
    c = sandbox.world.advertisers[HNL].campaigns[1]
    await api.post(
        "campaign/status/update/",
        {"advertiser_id": HNL, "campaign_ids": [c.campaign_id], "operation_status": "DISABLE"},
    )
    before = await report(api, HNL, "AUCTION_AD", NY_TODAY)
    clock.advance(7200)
    after = await report(api, HNL, "AUCTION_AD", NY_TODAY)
    for g in c.adgroups:
        for ad in g.ads:
            assert after[ad.ad_id]["spend"] == before[ad.ad_id]["spend"]
    groups = await api.get("adgroup/get/", advertiser_id=HNL, filtering={"campaign_ids": [c.campaign_id]})
    assert {g["secondary_status"] for g in groups.data["list"]} == {"ADGROUP_STATUS_CAMPAIGN_DISABLE"}
    other = sandbox.world.advertisers[HNL].campaigns[0]
    assert _spend(after, other.adgroups[1].ads[0].ad_id) > _spend(before, other.adgroups[1].ads[0].ad_id)


async def test_campaign_budget_cap_gives_budget_exceed_then_resets_at_local_midnight(
    api: Api, sandbox: Sandbox, clock: FrozenClock
) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    budget = c.budgets.at(clock.now().timestamp())
    first = await api.get("campaign/get/", advertiser_id=NY, filtering={"campaign_ids": [c.campaign_id]})
    assert first.data["list"][0]["secondary_status"] == "CAMPAIGN_STATUS_ENABLE"
    clock.advance(300)  # the ...001 daily campaign runs out two to three minutes after start
    r = await api.get("campaign/get/", advertiser_id=NY, filtering={"campaign_ids": [c.campaign_id]})
    assert r.data["list"][0]["secondary_status"] == "CAMPAIGN_STATUS_BUDGET_EXCEED"
    ads = await api.get("ad/get/", advertiser_id=NY, filtering={"campaign_ids": [c.campaign_id]})
    assert {a["secondary_status"] for a in ads.data["list"]} == {"AD_STATUS_CAMPAIGN_EXCEED"}
    clock.advance(3600)
    rows = await report(api, NY, "AUCTION_CAMPAIGN", NY_TODAY, ids=[c.campaign_id])
    assert rows[c.campaign_id]["spend"] == f"{budget:.2f}"  # capped exactly at the daily budget
    clock.set(datetime(2026, 11, 25, 5, 30, tzinfo=UTC))  # 00:30 in New York, a new local day
    r = await api.get("campaign/get/", advertiser_id=NY, filtering={"campaign_ids": [c.campaign_id]})
    assert r.data["list"][0]["secondary_status"] == "CAMPAIGN_STATUS_ENABLE"
    assert 0 < _spend(await report(api, NY, "AUCTION_CAMPAIGN", "2026-11-25"), c.campaign_id) < budget


async def test_raising_the_budget_resumes_delivery(api: Api, sandbox: Sandbox, clock: FrozenClock) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    clock.advance(600)
    capped = _spend(await report(api, NY, "AUCTION_CAMPAIGN", NY_TODAY), c.campaign_id)
    r = await api.post("campaign/update/", {"advertiser_id": NY, "campaign_id": c.campaign_id, "budget": 900})
    assert r.code == 0 and r.data["budget"] == 900.0
    assert r.data["secondary_status"] == "CAMPAIGN_STATUS_ENABLE"
    clock.advance(600)
    assert _spend(await report(api, NY, "AUCTION_CAMPAIGN", NY_TODAY), c.campaign_id) > capped + 3


async def test_ad_group_daily_cap_binds_in_the_local_evening(api: Api, sandbox: Sandbox, clock: FrozenClock) -> None:
    g = sandbox.world.advertisers[AKL].campaigns[0].adgroups[0]  # tight daily budget (~60 % of its pace)
    clock.set(datetime(2026, 11, 25, 10, 30, tzinfo=UTC))  # 23:30 in Auckland
    r = await api.get("adgroup/get/", advertiser_id=AKL, filtering={"adgroup_ids": [g.adgroup_id]})
    assert r.data["list"][0]["secondary_status"] == "ADGROUP_STATUS_BUDGET_EXCEED"
    ads = await api.get("ad/get/", advertiser_id=AKL, filtering={"adgroup_ids": [g.adgroup_id]})
    assert {a["secondary_status"] for a in ads.data["list"]} == {"AD_STATUS_BUDGET_EXCEED"}
    rows = await report(api, AKL, "AUCTION_ADGROUP", "2026-11-25", ids=[g.adgroup_id])
    assert rows[g.adgroup_id]["spend"] == f"{g.budgets.at(clock.now().timestamp()):.2f}"
    ad_rows = await report(api, AKL, "AUCTION_AD", "2026-11-25", ids=[a.ad_id for a in g.ads])
    shares = [float(ad_rows[a.ad_id]["spend"]) / a.rate for a in g.ads]
    assert max(shares) - min(shares) < 0.01 * max(shares)  # the cap scales the ads proportionally


async def test_same_utc_instant_is_a_different_local_day_east_and_west(api: Api) -> None:
    # 21:30 UTC on Nov 24: already Nov 25 in Auckland, still Nov 24 in Honolulu.
    akl = await report(api, AKL, "AUCTION_ADVERTISER", "2026-11-24", end="2026-11-25", time="stat_time_day")
    hnl = await report(api, HNL, "AUCTION_ADVERTISER", "2026-11-24", end="2026-11-25", time="stat_time_day")
    assert set(akl) == {(AKL, "2026-11-24 00:00:00"), (AKL, "2026-11-25 00:00:00")}
    assert set(hnl) == {(HNL, "2026-11-24 00:00:00")}  # Nov 25 has not begun there: no row at all
    akl_hours = await report(api, AKL, "AUCTION_ADVERTISER", "2026-11-25", time="stat_time_hour")
    assert max(label for _, label in akl_hours) == "2026-11-25 10:00:00"  # 10:30 local now


async def test_counts_never_decrease_and_hours_add_up_to_the_day(api: Api, clock: FrozenClock) -> None:
    seen: list[tuple[int, int, int]] = []
    for _ in range(4):
        row = (await report(api, NY, "AUCTION_ADVERTISER", NY_TODAY))[NY]
        seen.append((int(row["impressions"]), int(row["clicks"]), int(row["conversion"])))
        clock.advance(137)
    assert seen == sorted(seen) and seen[0] < seen[-1]
    day = await report(api, NY, "AUCTION_AD", NY_TODAY)
    hours = await report(api, NY, "AUCTION_AD", NY_TODAY, time="stat_time_hour")
    for ad_id, metrics in day.items():
        per_hour = [m for (a, _), m in hours.items() if a == ad_id]
        for name in ("impressions", "clicks", "conversion"):
            assert sum(int(m[name]) for m in per_hour) == int(metrics[name])
        assert abs(sum(float(m["spend"]) for m in per_hour) - float(metrics["spend"])) < 0.01 * len(per_hour)
