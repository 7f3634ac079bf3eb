"""Fetching Upgraded Smart+ objects: real ids and names (not creatives), reports keyed by ad_id_v2, the
smart_plus flag on what writes must route, and the calls it costs."""

from __future__ import annotations

import pytest

from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.sandbox import SandboxSettings
from monitor.tiktok.models import DEFAULT_FIELDS

ADV = "7000000000000000001"


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(
        campaigns_per_advertiser=4, adgroups_per_campaign=2, ads_per_adgroup=3, smart_plus_campaigns=1
    )


def _plan(*levels: Level) -> FetchPlan:
    return FetchPlan({lv: LevelPlan(DEFAULT_FIELDS[lv], {"today": ("spend",)}) for lv in levels})


@pytest.mark.parametrize("levels", [(Level.CAMPAIGN, Level.ADGROUP, Level.AD), (Level.AD,)], ids=["all", "ads-only"])
async def test_smart_plus_ads_come_with_their_ids_names_and_report_values(sandbox, make_client, clock, levels):
    client = make_client()
    advertiser = (await client.advertiser_info([ADV]))[0]
    smart = sandbox.world.advertisers[ADV].campaigns[-1]
    smart_ads = {
        sp.smart_plus_ad_id: sp for sp in sandbox.world.smart_plus.ads.values() if sp.adgroup.campaign is smart
    }
    creatives = {a.ad_id for g in smart.adgroups for a in g.ads}

    result = await fetch_snapshot(client, advertiser, _plan(*levels), clock.now())

    assert not result.errors
    ads = {s.id: s for s in result.states if s.level is Level.AD}
    assert not creatives & set(ads)
    assert set(smart_ads) <= set(ads)
    for ad_id, sp in smart_ads.items():
        state = ads[ad_id]
        assert (state.name, state.smart_plus, state.campaign_id) == (sp.name, True, smart.campaign_id)
        assert state.metric("spend") is not None and state.metric("spend") > 0
    plain = [s for s in ads.values() if s.id not in smart_ads]
    assert plain and not any(s.smart_plus for s in plain)
    assert any(s.metric("spend") for s in plain)  # ordinary ads keep their values under ad_id_v2 too
    if Level.CAMPAIGN in levels:
        flagged = {s.id for s in result.states if s.smart_plus and s.level in (Level.CAMPAIGN, Level.ADGROUP)}
        assert flagged == {smart.campaign_id} | {g.adgroup_id for g in smart.adgroups}
    paths = [a.path for a in sandbox.arrivals if a.path.startswith("report/")]
    assert paths  # the ad report asked for ad_id_v2 (the sandbox refuses it with ad_id): its values are keyed right


async def test_an_account_without_smart_plus_makes_no_smart_plus_calls(make_client, clock, sandbox):
    sandbox.world.advertisers[ADV].campaigns[-1].automation_type = "MANUAL"
    client = make_client()
    advertiser = (await client.advertiser_info([ADV]))[0]
    await fetch_snapshot(client, advertiser, _plan(Level.CAMPAIGN, Level.AD), clock.now())
    assert not [a.path for a in sandbox.arrivals if a.path.startswith("smart_plus/")]
