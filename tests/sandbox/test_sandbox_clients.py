"""Issue 20: what real clients (TikTok's SDK, the Singer tap, Airbyte) send, answered as TikTok answers it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox_http import AKL, NY, Api

from monitor.sandbox import Sandbox
from monitor.sandbox.status_enums import PRIMARY, SECONDARY

TODAY = "2026-11-24"
BASE = {
    "advertiser_id": NY,
    "report_type": "BASIC",
    "data_level": "AUCTION_CAMPAIGN",
    "dimensions": ["campaign_id"],
    "start_date": TODAY,
    "end_date": TODAY,
}
#: Metrics the connectors request that the sandbox does not simulate.
CONNECTOR_METRICS = {
    "average_video_play_per_user": "0.00",
    "clicks_on_music_disc": "0",
    "real_time_app_install_cost": "0.00",
    "vta_purchase": "0",
    "total_pageview": "0",
    "likes": "0",
    "secondary_goal_result": "-",
    "cost_per_secondary_goal_result": "-",
    "tt_app_id": "-",
    "promotion_type": "-",
}


async def test_report_metrics_are_an_open_list_with_zero_or_dash_for_unsimulated(api: Api) -> None:
    r = await api.get("report/integrated/get/", **BASE, metrics=["spend", *CONNECTOR_METRICS])
    assert r.code == 0, r.body
    assert r.data["list"]
    for row in r.data["list"]:
        m = row["metrics"]
        assert float(m["spend"]) > 0
        assert {k: m[k] for k in CONNECTOR_METRICS} == CONNECTOR_METRICS


async def test_async_report_takes_the_same_open_metric_list(api: Api) -> None:
    created = await api.post("report/task/create/", {**BASE, "metrics": ["spend", "vta_purchase", "tt_app_id"]})
    assert created.code == 0, created.body


async def test_total_metrics_add_up_the_rows_of_every_page(api: Api) -> None:
    r = await api.get(
        "report/integrated/get/",
        **BASE,
        metrics=["spend", "impressions", "ctr"],
        page_size="1",
        enable_total_metrics="true",
    )
    assert r.code == 0, r.body
    every = await api.get("report/integrated/get/", **BASE, metrics=["spend", "impressions"], page_size="100")
    rows = every.data["list"]
    total = r.data["total_metrics"]
    assert abs(float(total["spend"]) - sum(float(x["metrics"]["spend"]) for x in rows)) < 0.011 * len(rows)
    assert int(total["impressions"]) == sum(int(x["metrics"]["impressions"]) for x in rows)
    assert float(total["ctr"]) > 0
    assert "total_metrics" not in every.data


async def test_unmodelled_report_requests_are_refused_saying_so(api: Api) -> None:
    multi = {**{k: v for k, v in BASE.items() if k != "advertiser_id"}, "advertiser_ids": [NY, AKL]}
    cases: list[dict[str, Any]] = [
        {**{k: v for k, v in BASE.items() if k != "advertiser_id"}, "bc_id": "7100000000000000001"},
        {**BASE, "report_type": "AUDIENCE", "dimensions": ["campaign_id", "ac"]},
        {**BASE, "report_type": "AUDIENCE", "dimensions": ["campaign_id", "age", "platform"]},
        {**multi, "dimensions": ["stat_time_day"]},
        {**multi, "multi_adv_report_in_utc_time": "true"},
    ]
    for params in cases:
        r = await api.get("report/integrated/get/", **params)
        assert r.code == 40002 and "not simulated" in r.body["message"], r.body
    r = await api.post("report/task/create/", multi)
    assert r.code == 40002 and "not simulated" in r.body["message"], r.body


async def test_report_over_advertiser_ids_lists_each_accounts_rows(api: Api) -> None:
    multi = {**{k: v for k, v in BASE.items() if k != "advertiser_id"}, "advertiser_ids": [NY, AKL]}
    metrics = ["spend", "advertiser_id", "currency", "timezone"]
    r = await api.get("report/integrated/get/", **multi, metrics=metrics, page_size="100")
    assert r.code == 0, r.body
    by_account: dict[str, list[dict[str, Any]]] = {}
    for row in r.data["list"]:
        by_account.setdefault(row["metrics"]["advertiser_id"], []).append(row)
    assert list(by_account) == [NY, AKL]
    for adv in (NY, AKL):
        one = await api.get(
            "report/integrated/get/", **{**BASE, "advertiser_id": adv}, metrics=metrics, page_size="100"
        )
        assert [x["dimensions"] for x in by_account[adv]] == [x["dimensions"] for x in one.data["list"]]
        assert [x["metrics"]["spend"] for x in by_account[adv]] == [x["metrics"]["spend"] for x in one.data["list"]]
    assert {row["metrics"]["currency"] for row in by_account[AKL]} == {"NZD"}
    assert r.data["page_info"]["total_number"] == len(r.data["list"])
    six = await api.get("report/integrated/get/", **{**multi, "advertiser_ids": [NY] * 6})
    assert six.code == 40002


async def test_an_ad_report_over_advertiser_ids_is_capped_across_the_advertisers(api: Api, sandbox: Sandbox) -> None:
    # tiktok-api.md §12: the sync report's 20,000-ad cap applies across the advertisers of advertiser_ids
    ads = {
        adv: sum(len(g.ads) for c in sandbox.world.advertisers[adv].campaigns for g in c.adgroups) for adv in (NY, AKL)
    }
    sandbox.report_cache.ad_limit = ads[NY] + ads[AKL] - 1  # each within it, both together past it
    params = {**BASE, "data_level": "AUCTION_AD", "dimensions": ["ad_id"], "page_size": "1000"}
    del params["advertiser_id"]
    metrics = ["spend", "advertiser_id"]
    for adv in (NY, AKL):
        alone = await api.get("report/integrated/get/", **{**params, "advertiser_id": adv}, metrics=metrics)
        assert alone.code == 0 and "X-Tt-Ads-Throttle" not in alone.headers
    both = await api.get("report/integrated/get/", **params, advertiser_ids=[NY, AKL], metrics=metrics)
    assert both.code == 0 and both.headers["X-Tt-Ads-Throttle"] == "true"
    assert {row["metrics"]["advertiser_id"] for row in both.data["list"]} == {NY}  # the first one's rows
    sandbox.report_cache.ad_limit = ads[NY] + ads[AKL]
    both = await api.get("report/integrated/get/", **params, advertiser_ids=[NY, AKL], metrics=metrics)
    assert "X-Tt-Ads-Throttle" not in both.headers
    assert {row["metrics"]["advertiser_id"] for row in both.data["list"]} == {NY, AKL}


async def test_user_info_answers_with_and_without_trailing_slash(api: Api) -> None:
    for path in ("user/info/", "user/info"):
        r = await api.get(path)
        assert r.status == 200 and r.code == 0, (path, r.text)
        assert r.data["display_name"] and r.data["core_user_id"]
    assert (await api.get("user/info/", headers={})).code == 40104


async def _ids(api: Api, kind: str, filtering: dict[str, Any]) -> set[str]:
    r = await api.get(f"{kind}/get/", advertiser_id=NY, page_size="1000", filtering=filtering)
    assert r.code == 0, (filtering, r.body)
    return {item[f"{kind}_id"] for item in r.data["list"]}


async def test_adgroup_filters_on_goal_and_billing_event_really_filter(api: Api, sandbox: Sandbox) -> None:
    groups = [g for c in sandbox.world.advertisers[NY].campaigns for g in c.adgroups]
    everything = await _ids(api, "adgroup", {})
    for goal in {g.optimization_goal for g in groups}:
        want = {g.adgroup_id for g in groups if g.optimization_goal == goal}
        assert await _ids(api, "adgroup", {"optimization_goal": goal}) == want != everything
        assert {a for a in await _ids(api, "ad", {"optimization_goal": goal})} == {
            ad.ad_id for g in groups if g.optimization_goal == goal for ad in g.ads
        }
    event = groups[0].billing_event
    want = {g.adgroup_id for g in groups if g.billing_event == event}
    assert await _ids(api, "adgroup", {"billing_events": [event]}) == want
    assert await _ids(api, "adgroup", {"billing_events": ["CPV"]}) == set()


async def test_objective_conversions_matches_web_conversions(api: Api, sandbox: Sandbox) -> None:
    campaigns = sandbox.world.advertisers[NY].campaigns
    web = {c.campaign_id for c in campaigns if c.objective_type == "WEB_CONVERSIONS"}
    assert web and web != {c.campaign_id for c in campaigns}
    assert await _ids(api, "campaign", {"objective_type": "CONVERSIONS"}) == web
    assert await _ids(api, "campaign", {"objective_type": "WEB_CONVERSIONS"}) == web


async def test_shared_property_filters_match_all_or_nothing(api: Api) -> None:
    everything = await _ids(api, "adgroup", {})
    assert await _ids(api, "adgroup", {"split_test_enabled": False}) == everything
    assert await _ids(api, "adgroup", {"split_test_enabled": True}) == set()
    assert await _ids(api, "adgroup", {"promotion_type": "APP_ANDROID"}) == set()
    assert await _ids(api, "campaign", {"campaign_type": "IOS14_CAMPAIGN"}) == set()


async def test_unmodelled_filters_are_refused_never_ignored(api: Api) -> None:
    for kind, filtering in (
        ("adgroup", {"bid_strategy": "BID_STRATEGY_COST_CAP"}),
        ("campaign", {"optimization_goal": "CONVERT"}),
        ("campaign", {"sales_destination": "WEBSITE"}),
        ("ad", {"destination": "WEBSITE"}),
    ):
        r = await api.get(f"{kind}/get/", advertiser_id=NY, filtering=filtering)
        assert r.code == 40002 and "not simulated" in r.body["message"], (kind, r.body)


async def test_every_sdk_status_value_is_a_valid_filter(api: Api) -> None:
    for kind in ("campaign", "adgroup", "ad"):
        for value in sorted(SECONDARY[kind]):
            await _ids(api, kind, {"secondary_status": value})
        for value in sorted(PRIMARY):
            await _ids(api, kind, {"primary_status": value})
    assert await _ids(api, "ad", {"secondary_status": "AD_STATUS_MUSIC_AUTHORIZATION_MISSING"}) == set()
    bad = await api.get("ad/get/", advertiser_id=NY, filtering={"secondary_status": "AD_STATUS_NOPE"})
    assert bad.code == 40002


async def test_campaign_fields_status_and_app_profile_page_state(api: Api) -> None:
    r = await api.get(
        "campaign/get/", advertiser_id=NY, fields=["campaign_id", "status", "campaign_app_profile_page_state"]
    )
    assert r.code == 0, r.body
    item = r.data["list"][0]
    assert item["status"].startswith("CAMPAIGN_STATUS_") and "campaign_app_profile_page_state" in item
    plain = await api.get("campaign/get/", advertiser_id=NY)
    assert "status" not in plain.data["list"][0]


async def test_exclude_null_fields(api: Api) -> None:
    plain = (await api.get("campaign/get/", advertiser_id=NY)).data["list"][0]
    assert None in plain.values()
    r = await api.get("campaign/get/", advertiser_id=NY, exclude_field_types_in_response=["NULL_FIELD"])
    trimmed = r.data["list"][0]
    assert trimmed == {k: v for k, v in plain.items() if v is not None}
    bad = await api.get("campaign/get/", advertiser_id=NY, exclude_field_types_in_response=["EMPTY"])
    assert bad.code == 40002


async def test_report_task_create_has_its_own_2_qps_limit_answering_40016(
    make_sandbox: Callable[..., Sandbox], serve: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(qps=1000)
    api = await serve(sb)
    codes = [(await api.post("report/task/create/", BASE)).code for _ in range(3)]
    assert codes == [0, 0, 40016]
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0  # other endpoints unaffected
    refused = [a for a in sb.arrivals if a.code == 40016]
    assert len(refused) == 1


async def test_endpoints_airbyte_reads_beyond_entities_and_reports_are_answered(api: Api) -> None:
    """Each answers a list (test_sandbox_library checks the contents); an unknown path is still a 404."""
    keys = {"file/music/get/": "musics", "creative/portfolio/list/": "creative_portfolios", "pixel/list/": "pixels"}
    for path in ("dmp/custom_audience/list/", "file/music/get/", "creative/portfolio/list/", "tt_video/list/",
                 "file/image/ad/search/", "file/video/ad/search/", "pixel/list/", "pixel/instant_page/event/"):  # fmt: skip
        r = await api.get(path, advertiser_id=NY, page_size="20")
        assert r.status == 200 and r.code == 0 and isinstance(r.data[keys.get(path, "list")], list), path
    unknown = await api.get("no/such/endpoint/", advertiser_id=NY)
    assert unknown.status == 404
    r = await api.get("pixel/list/", advertiser_id=NY, headers={})
    assert r.code == 40104  # the token is checked first
