"""Upgraded Smart+ in the sandbox: smart_plus/* reads and writes, the ordinary endpoints' view, ad_id_v2."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sandbox_http import NY, Api

from monitor.sandbox import Sandbox


@pytest.fixture
async def sp(make_sandbox: Callable[..., Sandbox], serve: Callable[[Sandbox], Any]) -> tuple[Sandbox, Api]:
    sb = make_sandbox(campaigns_per_advertiser=4, smart_plus_campaigns=1)
    return sb, await serve(sb)


async def test_smart_plus_campaigns_are_marked_and_listed_by_their_own_endpoints(sp: tuple[Sandbox, Api]) -> None:
    sb, api = sp
    smart = sb.world.advertisers[NY].campaigns[-1]
    got = await api.get("campaign/get/", advertiser_id=NY, fields=["campaign_id", "campaign_automation_type"])
    types = {row["campaign_id"]: row["campaign_automation_type"] for row in got.data["list"]}
    assert types[smart.campaign_id] == "UPGRADED_SMART_PLUS"
    assert sorted(types.values()).count("MANUAL") == 3
    only = await api.get(
        "campaign/get/", advertiser_id=NY, filtering={"campaign_automation_type": "UPGRADED_SMART_PLUS"}
    )
    assert [row["campaign_id"] for row in only.data["list"]] == [smart.campaign_id]
    plus = await api.get("smart_plus/campaign/get/", advertiser_id=NY, page_size=1000)
    assert plus.code == 0
    assert [(r["campaign_id"], r["campaign_name"]) for r in plus.data["list"]] == [(smart.campaign_id, smart.name)]
    groups = await api.get("smart_plus/adgroup/get/", advertiser_id=NY, page_size=1000)
    assert {r["adgroup_id"] for r in groups.data["list"]} == {g.adgroup_id for g in smart.adgroups}


async def test_smart_plus_ads_have_their_own_ids_and_names_while_ad_get_shows_creatives(
    sp: tuple[Sandbox, Api],
) -> None:
    sb, api = sp
    smart = sb.world.advertisers[NY].campaigns[-1]
    g = smart.adgroups[0]
    ads = await api.get("smart_plus/ad/get/", advertiser_id=NY, filtering={"adgroup_ids": [g.adgroup_id]})
    [row] = ads.data["list"]
    creative_ids = [a.ad_id for a in g.ads]
    assert row["smart_plus_ad_id"] not in creative_ids
    assert not row["ad_name"].endswith(".mp4")
    assert [c["ad_id"] for c in row["creative_list"]] == creative_ids
    plain = await api.get("ad/get/", advertiser_id=NY, filtering={"adgroup_ids": [g.adgroup_id]}, page_size=100)
    assert {r["ad_id"] for r in plain.data["list"]} == set(creative_ids)
    assert all(r["ad_name"].endswith(".mp4") for r in plain.data["list"])
    too_big = await api.get("smart_plus/ad/get/", advertiser_id=NY, page_size=101)
    assert too_big.code == 40002
    refused = await api.get("smart_plus/ad/get/", advertiser_id=NY, filtering={"ad_name": "x"})
    assert refused.code == 40002 and "not simulated" in refused.body["message"]


async def test_smart_plus_writes_go_through_smart_plus_endpoints_only(sp: tuple[Sandbox, Api]) -> None:
    sb, api = sp
    smart = sb.world.advertisers[NY].campaigns[-1]
    manual = sb.world.advertisers[NY].campaigns[0]
    body = {"advertiser_id": NY, "campaign_ids": [smart.campaign_id], "operation_status": "DISABLE"}
    wrong = await api.post("campaign/status/update/", body)
    assert wrong.code == 40002 and "smart_plus/campaign/" in wrong.body["message"]
    ok = await api.post("smart_plus/campaign/status/update/", body)
    assert ok.code == 0 and ok.data["campaign_ids"] == [smart.campaign_id] and ok.data["error_list"] == []
    assert sb.world.operation_status(smart, sb.now()) == "DISABLE"
    mixed = await api.post(
        "smart_plus/campaign/status/update/",
        {"advertiser_id": NY, "campaign_ids": [smart.campaign_id, manual.campaign_id], "operation_status": "ENABLE"},
    )
    assert mixed.code == 20001
    assert [e["campaign_id"] for e in mixed.data["error_list"]] == [manual.campaign_id]
    g = smart.adgroups[0]
    sp_ad = sb.world.smart_plus.of_adgroup(g)
    assert sp_ad is not None
    ad_body = {"advertiser_id": NY, "smart_plus_ad_ids": [sp_ad.smart_plus_ad_id], "operation_status": "DISABLE"}
    assert (await api.post("smart_plus/ad/status/update/", ad_body)).code == 0
    assert {sb.world.operation_status(a, sb.now()) for a in g.ads} == {"DISABLE"}
    creative = {"advertiser_id": NY, "ad_ids": [g.ads[0].ad_id], "operation_status": "ENABLE"}
    assert (await api.post("ad/status/update/", creative)).code == 40002


async def test_smart_plus_budgets(sp: tuple[Sandbox, Api]) -> None:
    sb, api = sp
    smart = sb.world.advertisers[NY].campaigns[-1]
    before = smart.budgets.at(sb.now()) or 0.0
    wrong = await api.post("campaign/update/", {"advertiser_id": NY, "campaign_id": smart.campaign_id, "budget": 999})
    assert wrong.code == 40002
    ok = await api.post(
        "smart_plus/campaign/update/", {"advertiser_id": NY, "campaign_id": smart.campaign_id, "budget": before + 100}
    )
    assert ok.code == 0, ok.body
    assert ok.data["budget"] == before + 100
    g = smart.adgroups[0]
    key = "scheduled_budget" if g.budget_mode == "BUDGET_MODE_DAY" else "budget"
    value = (g.budgets.at(sb.now()) or 0.0) + 500
    r = await api.post(
        "smart_plus/adgroup/budget/update/", {"advertiser_id": NY, key: [{"adgroup_id": g.adgroup_id, key: value}]}
    )
    assert r.code == 0, r.body


async def test_reports_key_smart_plus_ads_by_ad_id_v2(sp: tuple[Sandbox, Api]) -> None:
    sb, api = sp
    smart = sb.world.advertisers[NY].campaigns[-1]
    creatives = {a.ad_id for g in smart.adgroups for a in g.ads}
    smart_ids = {sb.world.smart_plus.ad_id_v2(a) for a in creatives_of(smart)}
    common = {
        "advertiser_id": NY,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "metrics": ["spend"],
        "page_size": 1000,
    }
    by_creative = await api.get("report/integrated/get/", dimensions=["ad_id"], query_lifetime=True, **common)
    by_v2 = await api.get("report/integrated/get/", dimensions=["ad_id_v2"], query_lifetime=True, **common)
    assert by_creative.code == 0 and by_v2.code == 0, by_v2.body
    ids1 = {r["dimensions"]["ad_id"] for r in by_creative.data["list"]}
    ids2 = {r["dimensions"]["ad_id_v2"] for r in by_v2.data["list"]}
    assert creatives & ids1 and not creatives & ids2
    assert smart_ids & ids2 and not smart_ids & ids1
    spend1 = sum(float(r["metrics"]["spend"]) for r in by_creative.data["list"])
    spend2 = sum(float(r["metrics"]["spend"]) for r in by_v2.data["list"])
    assert spend1 == pytest.approx(spend2, abs=0.05)
    named = await api.get(
        "report/integrated/get/", dimensions=["ad_id_v2"], query_lifetime=True, **{**common, "metrics": ["ad_name"]}
    )
    names = {r["dimensions"]["ad_id_v2"]: r["metrics"]["ad_name"] for r in named.data["list"]}
    assert {names[i] for i in smart_ids} == {sb.world.smart_plus.ads[i].name for i in smart_ids}
    both = await api.get("report/integrated/get/", dimensions=["ad_id", "ad_id_v2"], query_lifetime=True, **common)
    assert both.code == 40002


def creatives_of(campaign: Any) -> list[Any]:
    return [a for g in campaign.adgroups for a in g.ads]


def test_several_smart_plus_campaigns_per_advertiser_beside_extra_advertisers(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """The extra advertisers' one-campaign settings used to keep smart_plus_campaigns and fail validation for
    any value above 1, so no world could have two Smart+ campaigns per advertiser."""
    sb = make_sandbox(smart_plus_campaigns=2, extra_advertisers=1)
    types = [c.automation_type for c in sb.world.advertisers[NY].campaigns]
    assert types == ["MANUAL", "UPGRADED_SMART_PLUS", "UPGRADED_SMART_PLUS"]
    extra = next(a for a in sb.world.advertisers.values() if a.name.startswith("Extra"))
    assert [c.automation_type for c in extra.campaigns] == ["MANUAL"]
