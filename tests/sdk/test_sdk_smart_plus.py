"""TikTok's official Python SDK (1.1.3) against the sandbox's Upgraded Smart+ endpoints (tiktok-api.md §12).

The SDK wraps the reads (``CampaignCreationApi.smart_plus_campaign_get``, ``AdgroupApi.smart_plus_adgroup_get``,
``AdApi.smart_plus_ad_get``), the status writes (``smart_plus_{campaign,adgroup,ad}_status_update``) and
``CampaignCreationApi.smart_plus_campaign_update``; it has no method for ``smart_plus/adgroup/budget/update/``,
which goes through its ``ApiClient.call_api`` (sdk_world.raw), i.e. the same serialization.

The world here has two Smart+ campaigns per advertiser (the last two of three: a lifetime budget and no budget),
each ad group holding one Smart+ ad whose creatives are the ad group's three ads.
"""

from __future__ import annotations

from typing import Any

import business_api_client as sdk
import pytest
from business_api_client import models
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError
from sdk_world import NY, START, TOKEN, ok, raw

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.entities import Campaign


@pytest.fixture
def sandbox() -> Sandbox:
    """Overrides conftest's: the same world with Upgraded Smart+ campaigns."""
    return Sandbox(SandboxSettings(qps=1000, smart_plus_campaigns=2), clock=FrozenClock(START))


def smart(sandbox: Sandbox) -> list[Campaign]:
    return [c for c in sandbox.world.advertisers[NY].campaigns if c.automation_type == "UPGRADED_SMART_PLUS"]


@pytest.mark.endpoints("smart_plus/campaign/get/", "smart_plus/adgroup/get/", "smart_plus/ad/get/")
def test_smart_plus_reads_list_smart_plus_objects_with_their_ids_and_names(api_client: Any, sandbox: Sandbox) -> None:
    campaigns = smart(sandbox)
    assert len(campaigns) == 2
    got = ok(
        sdk.CampaignCreationApi(api_client).smart_plus_campaign_get(
            NY, TOKEN, fields=["campaign_id", "campaign_name"], page=1, page_size=1000
        )
    )
    assert sorted((r["campaign_id"], r["campaign_name"]) for r in got["list"]) == sorted(
        (c.campaign_id, c.name) for c in campaigns
    )
    assert got["page_info"]["total_number"] == 2
    target = campaigns[0]
    groups = ok(
        sdk.AdgroupApi(api_client).smart_plus_adgroup_get(
            NY,
            TOKEN,
            filtering=models.FilteringSmartPlusAdgroupGet(campaign_ids=[target.campaign_id]),
            page_size=1000,
        )
    )["list"]
    assert sorted(g["adgroup_id"] for g in groups) == sorted(g.adgroup_id for g in target.adgroups)
    assert {g["campaign_id"] for g in groups} == {target.campaign_id}
    ads = sdk.AdApi(api_client)
    group = target.adgroups[0]
    plus = sandbox.world.smart_plus.of_adgroup(group)
    assert plus is not None
    [row] = ok(
        ads.smart_plus_ad_get(
            NY, TOKEN, filtering=models.FilteringSmartPlusAdGet(adgroup_ids=[group.adgroup_id]), page_size=100
        )
    )["list"]
    assert (row["smart_plus_ad_id"], row["ad_name"]) == (plus.smart_plus_ad_id, plus.name)
    assert [c["ad_id"] for c in row["creative_list"]] == [a.ad_id for a in group.ads]
    first = ok(ads.smart_plus_ad_get(NY, TOKEN, page=1, page_size=1))  # one Smart+ ad per Smart+ ad group
    assert first["page_info"]["total_number"] == sum(len(c.adgroups) for c in campaigns) == 4
    assert len(first["list"]) == 1
    with pytest.raises(TiktokSDKError) as refused:  # smart_plus/ad/get/ takes at most 100 per page
        ads.smart_plus_ad_get(NY, TOKEN, page_size=101)
    assert "Error Code: 40002" in str(refused.value)


@pytest.mark.endpoints(
    "smart_plus/campaign/status/update/", "smart_plus/adgroup/status/update/", "smart_plus/ad/status/update/"
)
def test_smart_plus_status_writes(api_client: Any, sandbox: Sandbox) -> None:
    c = smart(sandbox)[0]
    g = c.adgroups[0]
    plus = sandbox.world.smart_plus.of_adgroup(g)
    assert plus is not None
    campaigns, groups, ads = sdk.CampaignCreationApi(api_client), sdk.AdgroupApi(api_client), sdk.AdApi(api_client)
    done = ok(
        campaigns.smart_plus_campaign_status_update(
            TOKEN,
            body=models.SmartPlusCampaignStatusUpdateBody(
                advertiser_id=NY, campaign_ids=[c.campaign_id], operation_status="DISABLE"
            ),
        )
    )
    assert (done["campaign_ids"], done["status"], done["error_list"]) == ([c.campaign_id], "DISABLE", [])
    done = ok(
        groups.smart_plus_adgroup_status_update(
            TOKEN,
            body=models.SmartPlusAdgroupStatusUpdateBody(
                advertiser_id=NY, adgroup_ids=[g.adgroup_id], operation_status="DISABLE"
            ),
        )
    )
    assert (done["adgroup_ids"], done["error_list"]) == ([g.adgroup_id], [])
    done = ok(
        ads.smart_plus_ad_status_update(
            TOKEN,
            body=models.SmartPlusAdStatusUpdateBody(
                advertiser_id=NY, smart_plus_ad_ids=[plus.smart_plus_ad_id], operation_status="DISABLE"
            ),
        )
    )
    assert (done["smart_plus_ad_ids"], done["error_list"]) == ([plus.smart_plus_ad_id], [])
    now, world = sandbox.now(), sandbox.world
    assert (world.operation_status(c, now), world.operation_status(g, now)) == ("DISABLE", "DISABLE")
    assert {world.operation_status(a, now) for a in plus.creatives} == {"DISABLE"}
    manual = sandbox.world.advertisers[NY].campaigns[0]
    with pytest.raises(TiktokSDKError) as partial:  # code 20001: the SDK raises, with error_list in its data
        campaigns.smart_plus_campaign_status_update(
            TOKEN,
            body=models.SmartPlusCampaignStatusUpdateBody(
                advertiser_id=NY, campaign_ids=[c.campaign_id, manual.campaign_id], operation_status="ENABLE"
            ),
        )
    assert "Error Code: 20001" in str(partial.value)
    assert world.operation_status(c, sandbox.now()) == "ENABLE"
    assert world.operation_status(manual, sandbox.now()) == "ENABLE"  # untouched: not a Smart+ campaign


@pytest.mark.endpoints("smart_plus/campaign/update/", "smart_plus/adgroup/budget/update/")
def test_smart_plus_budget_writes(api_client: Any, sandbox: Sandbox) -> None:
    c = next(c for c in smart(sandbox) if c.budget_mode == "BUDGET_MODE_TOTAL")
    new = round((c.budgets.at(sandbox.now()) or 0) * 2 + 50, 2)
    done = ok(
        sdk.CampaignCreationApi(api_client).smart_plus_campaign_update(
            TOKEN, body=models.SmartPlusCampaignUpdateBody(advertiser_id=NY, campaign_id=c.campaign_id, budget=new)
        )
    )
    assert done["campaign_id"] == c.campaign_id and float(done["budget"]) == new
    assert c.budgets.at(sandbox.now()) == new
    g = next(g for c in smart(sandbox) for g in c.adgroups if g.budget_mode == "BUDGET_MODE_TOTAL")
    amount = round((g.budgets.at(sandbox.now()) or 0) * 2 + 50, 2)
    body = {"advertiser_id": NY, "budget": [{"adgroup_id": g.adgroup_id, "budget": amount}]}
    ok(raw(api_client, "POST", "smart_plus/adgroup/budget/update/", body=body))
    assert g.budgets.at(sandbox.now()) == amount
    [row] = ok(
        sdk.AdgroupApi(api_client).smart_plus_adgroup_get(
            NY, TOKEN, filtering=models.FilteringSmartPlusAdgroupGet(adgroup_ids=[g.adgroup_id])
        )
    )["list"]
    assert float(row["budget"]) == amount
