"""campaign/get/, adgroup/get/, ad/get/: pagination, fields, filtering, deleted objects, derived statuses."""

from __future__ import annotations

from sandbox_http import HNL, NY, Api

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox


async def _all_pages(api: Api, path: str, **params: object) -> tuple[list[dict], list[dict]]:
    items, infos, page = [], [], 1
    while True:
        r = await api.get(path, page=str(page), **params)
        assert r.code == 0, r.body
        items += r.data["list"]
        infos.append(r.data["page_info"])
        if page >= r.data["page_info"]["total_page"]:
            return items, infos
        page += 1


async def test_ads_paginate_by_id_descending_across_pages(api: Api) -> None:
    ads, infos = await _all_pages(api, "ad/get/", advertiser_id=NY, page_size="2", fields=["ad_id"])
    ids = [a["ad_id"] for a in ads]
    assert len(ids) == 18 == len(set(ids))  # 3 campaigns x 2 ad groups x 3 ads
    assert ids == sorted(ids, key=int, reverse=True)
    assert infos[0] == {"page": 1, "page_size": 2, "total_number": 18, "total_page": 9}
    assert [i["page"] for i in infos] == list(range(1, 10))


async def test_page_past_the_end_is_empty_and_default_page_size_is_10(api: Api) -> None:
    r = await api.get("ad/get/", advertiser_id=NY, page="5")
    assert r.data["list"] == [] and r.data["page_info"]["page_size"] == 10
    assert (await api.get("ad/get/", advertiser_id=NY)).data["page_info"]["total_page"] == 2


async def test_page_size_above_1000_or_bad_page_is_40002(api: Api) -> None:
    for params in ({"page_size": "1001"}, {"page_size": "0"}, {"page": "0"}, {"page": "x"}):
        r = await api.get("campaign/get/", advertiser_id=NY, **params)
        assert r.code == 40002, params
        assert next(iter(params)) in r.body["message"]


async def test_fields_select_exactly_what_is_returned(api: Api) -> None:
    r = await api.get("adgroup/get/", advertiser_id=NY, fields=["adgroup_id", "budget", "budget_mode"])
    assert all(set(g) == {"adgroup_id", "budget", "budget_mode"} for g in r.data["list"])
    assert all(isinstance(g["budget"], float) and isinstance(g["adgroup_id"], str) for g in r.data["list"])
    unknown = await api.get("adgroup/get/", advertiser_id=NY, fields=["adgroup_id", "bogus"])
    assert unknown.code == 40002 and "bogus" in unknown.body["message"]


async def test_default_fields_cover_the_documented_keys(api: Api) -> None:
    c = (await api.get("campaign/get/", advertiser_id=NY)).data["list"][0]
    for key in (
        "advertiser_id",
        "campaign_id",
        "campaign_name",
        "operation_status",
        "secondary_status",
        "budget",
        "budget_mode",
        "objective_type",
        "create_time",
        "modify_time",
    ):
        assert key in c
    assert "budget_optimize_on" not in c  # only returned when true
    assert len(c["create_time"]) == 19 and c["create_time"][10] == " "


async def test_world_has_modes_statuses_and_a_hostile_name(api: Api) -> None:
    campaigns = (await api.get("campaign/get/", advertiser_id=NY)).data["list"]
    modes = {c["budget_mode"] for c in campaigns}
    assert modes == {"BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL", "BUDGET_MODE_INFINITE"}
    assert [c["operation_status"] for c in campaigns].count("DISABLE") == 1
    assert any("<!channel> & <b>" in c["campaign_name"] for c in campaigns)
    groups = (await api.get("adgroup/get/", advertiser_id=NY, page_size="100")).data["list"]
    assert {g["budget_mode"] for g in groups} == {"BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL"}


async def test_ad_group_names_carry_their_campaign_name_whole(api: Api) -> None:
    """Generated names are never cut mid-word ("Summer Sale – Prospectin / Broad 18-44" once)."""
    fields = ["adgroup_id", "adgroup_name", "campaign_id"]
    campaigns, _ = await _all_pages(api, "campaign/get/", advertiser_id=HNL, fields=["campaign_id", "campaign_name"])
    names = {c["campaign_id"]: c["campaign_name"] for c in campaigns}
    groups, _ = await _all_pages(api, "adgroup/get/", advertiser_id=HNL, fields=fields)
    assert groups
    for group in groups:
        campaign, _, audience = group["adgroup_name"].rpartition(" / ")
        assert campaign == names[group["campaign_id"]] and audience
    assert "Summer Sale – Prospecting / Broad 18-44" in {g["adgroup_name"] for g in groups}


async def test_filtering_by_ids_names_and_limits(api: Api, sandbox: Sandbox) -> None:
    adv = sandbox.world.advertisers[NY]
    c = adv.campaigns[0]
    r = await api.get("ad/get/", advertiser_id=NY, page_size="100", filtering={"campaign_ids": [c.campaign_id]})
    assert {a["campaign_id"] for a in r.data["list"]} == {c.campaign_id} and len(r.data["list"]) == 6
    g = c.adgroups[1]
    r = await api.get("ad/get/", advertiser_id=NY, filtering={"adgroup_ids": [g.adgroup_id]})
    assert [a["ad_id"] for a in r.data["list"]] == sorted((a.ad_id for a in g.ads), reverse=True)
    r = await api.get("campaign/get/", advertiser_id=NY, filtering={"campaign_name": "channel"})
    assert len(r.data["list"]) == 1
    too_many = await api.get(
        "campaign/get/", advertiser_id=NY, filtering={"campaign_ids": [str(i) for i in range(101)]}
    )
    assert too_many.code == 40002 and "campaign_ids" in too_many.body["message"]
    unknown = await api.get("campaign/get/", advertiser_id=NY, filtering={"colour": "red"})
    assert unknown.code == 40002 and "colour" in unknown.body["message"]


async def test_secondary_and_primary_status_filters(api: Api) -> None:
    r = await api.get(
        "adgroup/get/", advertiser_id=NY, filtering={"secondary_status": "ADGROUP_STATUS_CAMPAIGN_DISABLE"}
    )
    assert len(r.data["list"]) == 2
    assert all(g["secondary_status"] == "ADGROUP_STATUS_CAMPAIGN_DISABLE" for g in r.data["list"])
    r = await api.get("campaign/get/", advertiser_id=NY, filtering={"primary_status": "STATUS_DELIVERY_OK"})
    assert [c["secondary_status"] for c in r.data["list"]] == ["CAMPAIGN_STATUS_ENABLE"] * 2
    bad = await api.get("campaign/get/", advertiser_id=NY, filtering={"secondary_status": "AD_STATUS_DISABLE"})
    assert bad.code == 40002


async def test_deleted_objects_are_excluded_unless_asked_for(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    r = await api.post(
        "campaign/status/update/", {"advertiser_id": NY, "campaign_ids": [c.campaign_id], "operation_status": "DELETE"}
    )
    assert r.code == 0
    listed = await api.get("campaign/get/", advertiser_id=NY)
    assert c.campaign_id not in {x["campaign_id"] for x in listed.data["list"]}
    assert listed.data["page_info"]["total_number"] == 2
    every = await api.get("campaign/get/", advertiser_id=NY, filtering={"primary_status": "STATUS_ALL"})
    deleted = [x for x in every.data["list"] if x["campaign_id"] == c.campaign_id]
    assert deleted[0]["secondary_status"] == "CAMPAIGN_STATUS_DELETE"
    ads = await api.get("ad/get/", advertiser_id=NY, page_size="100", filtering={"campaign_ids": [c.campaign_id]})
    assert ads.data["list"] == []
    again = await api.post(
        "campaign/status/update/", {"advertiser_id": NY, "campaign_ids": [c.campaign_id], "operation_status": "ENABLE"}
    )
    assert again.code == 40002 and "deleted" in again.body["message"]


async def test_rejection_arrives_about_30_seconds_after_start(api: Api, clock: FrozenClock) -> None:
    flt = {"secondary_status": "AD_STATUS_AUDIT_DENY"}
    assert (await api.get("ad/get/", advertiser_id=NY, filtering=flt)).data["list"] == []
    clock.advance(29)
    assert (await api.get("ad/get/", advertiser_id=NY, filtering=flt)).data["list"] == []
    clock.advance(2)
    denied = (await api.get("ad/get/", advertiser_id=NY, filtering=flt)).data["list"]
    assert len(denied) == 1 and denied[0]["operation_status"] == "ENABLE"


async def test_a_paused_ad_in_honolulu_shows_disable(api: Api) -> None:
    r = await api.get("ad/get/", advertiser_id=HNL, filtering={"primary_status": "STATUS_DISABLE"})
    statuses = {a["secondary_status"] for a in r.data["list"]}
    assert "AD_STATUS_DISABLE" in statuses and "AD_STATUS_CAMPAIGN_DISABLE" in statuses
