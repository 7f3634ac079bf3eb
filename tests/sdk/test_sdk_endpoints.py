"""TikTok's official Python SDK (1.1.3) against the sandbox: the ordinary entity, write, report, account and
Business Center endpoints (Upgraded Smart+ in test_sdk_smart_plus, the Change Log in test_sdk_changelog; that
together they cover every endpoint the monitor calls is test_sdk_coverage's check).

The SDK builds the requests (paths, headers, JSON-string query values, model bodies with the SDK's defaults) and
parses the envelopes, so the sandbox cannot drift from the SDK's idea of the API. Endpoints the SDK does not wrap
(``adgroup/budget/update/``, ``user/info/``) go through the SDK's own ``ApiClient.call_api``, i.e. the same
serialization; ``report/task/download/`` answers a CSV, read with the SDK's REST client.
"""

from __future__ import annotations

import json
from typing import Any

import business_api_client as sdk
import pytest
from business_api_client import models
from business_api_client.models.filtering_report_integrated_get import FilteringReportIntegratedGet
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError
from sdk_world import NY, TODAY, TOKEN, ok, raw

from monitor.sandbox import Sandbox
from monitor.sandbox.status_enums import PRIMARY, SECONDARY


@pytest.mark.endpoints("oauth2/access_token/", "oauth2/advertiser/get/")
def test_oauth2_access_token_and_advertiser_get(api_client: Any, sandbox: Sandbox) -> None:
    auth = sdk.AuthenticationApi(api_client)
    code = sandbox.grants.issue_code([NY], sandbox.now())
    body = models.Oauth2AccessTokenBody(app_id=sandbox.settings.app_id, secret=sandbox.settings.secret, auth_code=code)
    data = ok(auth.oauth2_access_token(body=body))
    assert data["advertiser_ids"] == [NY] and data["access_token"]
    listed = ok(auth.oauth2_advertiser_get(sandbox.settings.app_id, sandbox.settings.secret, data["access_token"]))
    assert [a["advertiser_id"] for a in listed["list"]] == [NY]


@pytest.mark.endpoints("advertiser/info/")
def test_advertiser_info(api_client: Any) -> None:
    data = ok(sdk.AccountManagementApi(api_client).advertiser_info([NY], TOKEN, fields=["name", "display_timezone"]))
    assert data["list"][0]["display_timezone"] == "America/New_York"


@pytest.mark.endpoints("campaign/get/", "adgroup/get/", "ad/get/")
def test_campaign_adgroup_ad_get_with_sdk_filter_models(api_client: Any) -> None:
    campaigns = sdk.CampaignCreationApi(api_client)
    data = ok(
        campaigns.campaign_get(
            NY,
            TOKEN,
            filtering=models.FilteringCampaignGet(objective_type="CONVERSIONS", split_test_enabled=False),
            page=1,
            page_size=1000,
            fields=["campaign_id", "objective_type", "status"],
            exclude_field_types_in_response=["NULL_FIELD"],
        )
    )
    assert data["list"] and {c["objective_type"] for c in data["list"]} == {"WEB_CONVERSIONS"}
    campaign_id = data["list"][0]["campaign_id"]
    groups = ok(
        sdk.AdgroupApi(api_client).adgroup_get(
            NY,
            TOKEN,
            filtering=models.FilteringAdgroupGet(campaign_ids=[campaign_id], optimization_goal="CONVERT"),
            page_size=1000,
        )
    )
    assert groups["list"] and {g["optimization_goal"] for g in groups["list"]} == {"CONVERT"}
    ads = ok(
        sdk.AdApi(api_client).ad_get(
            NY, TOKEN, filtering=models.FilteringAdGet(adgroup_ids=[groups["list"][0]["adgroup_id"]]), page_size=2
        )
    )
    assert ads["page_info"]["page_size"] == 2 and ads["page_info"]["total_number"] == 3


@pytest.mark.endpoints("campaign/status/update/", "adgroup/status/update/", "ad/status/update/")
def test_status_writes(api_client: Any, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    g = c.adgroups[0]
    ad = g.ads[0]
    ok(
        sdk.CampaignCreationApi(api_client).campaign_status_update(
            TOKEN, body=models.CampaignStatusUpdateBody(NY, [c.campaign_id], "DISABLE")
        )
    )
    ok(
        sdk.AdgroupApi(api_client).adgroup_status_update(
            TOKEN,
            body=models.AdgroupStatusUpdateBody(
                advertiser_id=NY, adgroup_ids=[g.adgroup_id], operation_status="DISABLE"
            ),
        )
    )
    ok(
        sdk.AdApi(api_client).ad_status_update(
            TOKEN, body=models.AdStatusUpdateBody(advertiser_id=NY, ad_ids=[ad.ad_id], operation_status="DISABLE")
        )
    )
    now = sandbox.now()
    assert (c.statuses.at(now), g.statuses.at(now), ad.status_at(now)) == ("DISABLE",) * 3


@pytest.mark.endpoints("campaign/update/", "adgroup/budget/update/")
def test_budget_writes(api_client: Any, sandbox: Sandbox) -> None:
    adv = sandbox.world.advertisers[NY]
    c = next(c for c in adv.campaigns if c.budget_mode != "BUDGET_MODE_INFINITE")
    new = round((c.budgets.at(sandbox.now()) or 0) * 2 + 50, 2)
    ok(
        sdk.CampaignCreationApi(api_client).campaign_update(
            TOKEN, body=models.CampaignUpdateBody(advertiser_id=NY, campaign_id=c.campaign_id, budget=new)
        )
    )
    assert c.budgets.at(sandbox.now()) == new
    g = next(g for c in adv.campaigns for g in c.adgroups if g.budget_mode != "BUDGET_MODE_INFINITE")
    amount = round((g.budgets.at(sandbox.now()) or 0) * 2 + 50, 2)
    key = "scheduled_budget" if g.budget_mode == "BUDGET_MODE_DAY" else "budget"  # daily: from next midnight
    ok(
        raw(
            api_client,
            "POST",
            "adgroup/budget/update/",
            body={"advertiser_id": NY, key: [{"adgroup_id": g.adgroup_id, key: amount}]},
        )
    )
    assert key == "scheduled_budget" or g.budgets.at(sandbox.now()) == amount


@pytest.mark.endpoints("report/integrated/get/")
def test_sync_report_every_level_daily_hourly_lifetime_with_connector_metrics(api_client: Any) -> None:
    reporting = sdk.ReportingApi(api_client)
    metrics = ["spend", "impressions", "clicks", "ctr", "vta_purchase", "average_video_play_per_user", "tt_app_id"]
    for level, dim in (
        ("AUCTION_ADVERTISER", "advertiser_id"),
        ("AUCTION_CAMPAIGN", "campaign_id"),
        ("AUCTION_ADGROUP", "adgroup_id"),
        ("AUCTION_AD", "ad_id"),
    ):
        for extra in (
            {"dimensions": [dim, "stat_time_day"]},
            {"dimensions": [dim, "stat_time_hour"]},
            {"dimensions": [dim], "query_lifetime": True},
        ):
            dates = {} if extra.get("query_lifetime") else {"start_date": TODAY, "end_date": TODAY}
            data = ok(
                reporting.report_integrated_get(
                    "BASIC",
                    TOKEN,
                    advertiser_id=NY,
                    service_type="AUCTION",
                    data_level=level,
                    metrics=metrics,
                    page=1,
                    page_size=1000,
                    enable_total_metrics=True,
                    **dates,
                    **extra,
                )
            )
            assert data["list"], (level, extra)
            row = data["list"][0]
            assert set(row["metrics"]) == set(metrics) and set(row["dimensions"]) == set(extra["dimensions"])
            assert float(data["total_metrics"]["spend"]) > 0


def test_audience_report_every_level_and_dimension(api_client: Any) -> None:
    """AUDIENCE reports through the SDK (issue 20): the rows of each split add up to the BASIC report's."""
    reporting = sdk.ReportingApi(api_client)
    dates = {"start_date": TODAY, "end_date": TODAY, "page": 1, "page_size": 1000}
    for level, dim in (
        ("AUCTION_ADVERTISER", "advertiser_id"),
        ("AUCTION_CAMPAIGN", "campaign_id"),
        ("AUCTION_ADGROUP", "adgroup_id"),
        ("AUCTION_AD", "ad_id"),
    ):
        basic = ok(
            reporting.report_integrated_get(
                "BASIC", TOKEN, advertiser_id=NY, data_level=level, dimensions=[dim], metrics=["impressions"], **dates
            )
        )["list"]
        total = sum(int(r["metrics"]["impressions"]) for r in basic)
        for audience in (["age", "gender"], ["country_code"], ["platform"], ["province_id"]):
            rows = ok(
                reporting.report_integrated_get(
                    "AUDIENCE",
                    TOKEN,
                    advertiser_id=NY,
                    service_type="AUCTION",
                    data_level=level,
                    dimensions=[dim, "stat_time_day", *audience],
                    metrics=["impressions", "spend", "ctr"],
                    **dates,
                )
            )["list"]
            assert rows and set(rows[0]["dimensions"]) == {dim, "stat_time_day", *audience}, (level, audience)
            assert sum(int(r["metrics"]["impressions"]) for r in rows) == total, (level, audience)


def test_sync_report_filtering_models(api_client: Any, sandbox: Sandbox) -> None:
    campaign_id = sandbox.world.advertisers[NY].campaigns[0].campaign_id
    flt = FilteringReportIntegratedGet(
        field_name="campaign_ids", filter_type="IN", filter_value=json.dumps([campaign_id])
    )
    data = ok(
        sdk.ReportingApi(api_client).report_integrated_get(
            "BASIC",
            TOKEN,
            advertiser_id=NY,
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id"],
            start_date=TODAY,
            end_date=TODAY,
            filtering=[flt],
        )
    )
    assert {r["dimensions"]["campaign_id"] for r in data["list"]} == {campaign_id}


@pytest.mark.endpoints("report/task/create/", "report/task/check/", "report/task/download/")
def test_async_report_create_check_download_cancel(api_client: Any) -> None:
    reporting = sdk.ReportingApi(api_client)
    body = models.ReportTaskCreateBody(
        advertiser_id=NY,
        report_type="BASIC",
        data_level="AUCTION_AD",
        dimensions=["ad_id", "stat_time_day"],
        metrics=["spend", "impressions", "total_pageview"],
        start_date=TODAY,
        end_date=TODAY,
    )  # SDK defaults ride along: enable_report_title_translation=True, file_name=" ", query_lifetime=False
    task_id = ok(reporting.report_task_create(TOKEN, body=body))["task_id"]
    status = ok(reporting.report_task_check(task_id, NY, TOKEN))["status"]
    assert status in ("QUEUING", "PROCESSING", "SUCCESS")
    while status != "SUCCESS":
        status = ok(reporting.report_task_check(task_id, NY, TOKEN))["status"]
        assert status in ("QUEUING", "PROCESSING", "SUCCESS")
    download = api_client.rest_client.GET(  # CSV_STRING answers the CSV itself: the SDK's REST client, no envelope
        f"{api_client.configuration.host}/open_api/v1.3/report/task/download/",
        headers={"Access-Token": TOKEN},
        query_params=[("advertiser_id", NY), ("task_id", task_id)],
    )
    csv_text = download.data.decode()
    assert csv_text.splitlines()[0] == "ad_id,stat_time_day,spend,impressions,total_pageview"
    other = ok(reporting.report_task_create(TOKEN, body=body))["task_id"]
    try:
        ok(reporting.report_task_cancel(TOKEN, body=models.TaskCancelBody(advertiser_id=NY, task_id=other)))
    except TiktokSDKError as exc:  # a task can be canceled only while QUEUING
        assert "Error Code: 40002" in str(exc) and "can no longer be canceled" in str(exc)


@pytest.mark.endpoints("bc/get/", "bc/asset/get/")
def test_business_center_reads(api_client: Any) -> None:
    bc = sdk.BCApi(api_client)
    centers = ok(bc.bc_get(TOKEN, page=1, page_size=50))["list"]
    assert centers
    bc_id = centers[0]["bc_info"]["bc_id"] if "bc_info" in centers[0] else centers[0]["bc_id"]
    assets = ok(bc.bc_asset_get(bc_id, "ADVERTISER", TOKEN, page=1, page_size=50))
    assert "list" in assets


@pytest.mark.endpoints("user/info/")
def test_user_info(api_client: Any) -> None:
    assert ok(raw(api_client, "GET", "user/info/"))["display_name"]


def test_every_sdk_status_filter_value_answers_a_list(api_client: Any) -> None:
    """Each value of the SDK's status enums (yml_files/smart_plus_*_get.yml, copied in status_enums) is a valid
    filter: a list, empty when nothing in the sandbox has that status."""
    getters = {
        "campaign": (sdk.CampaignCreationApi(api_client).campaign_get, models.FilteringCampaignGet),
        "adgroup": (sdk.AdgroupApi(api_client).adgroup_get, models.FilteringAdgroupGet),
        "ad": (sdk.AdApi(api_client).ad_get, models.FilteringAdGet),
    }
    for kind, (get, model) in getters.items():
        for value in sorted(SECONDARY[kind]):
            assert isinstance(ok(get(NY, TOKEN, filtering=model(secondary_status=value)))["list"], list)
        for value in sorted(PRIMARY):
            assert isinstance(ok(get(NY, TOKEN, filtering=model(primary_status=value)))["list"], list)


def test_sync_report_over_advertiser_ids(api_client: Any) -> None:
    tokyo = "7000000000000000004"
    data = ok(
        sdk.ReportingApi(api_client).report_integrated_get(
            "BASIC",
            TOKEN,
            advertiser_ids=[NY, tokyo],
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id", "stat_time_day"],
            metrics=["spend", "advertiser_id", "currency"],
            start_date=TODAY,
            end_date=TODAY,
            page_size=1000,
        )
    )
    assert {row["metrics"]["advertiser_id"] for row in data["list"]} == {NY, tokyo}
