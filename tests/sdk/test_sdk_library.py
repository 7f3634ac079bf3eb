"""TikTok's official Python SDK (1.1.3) against the asset library and pixel endpoints the sandbox simulates for
Airbyte's connector (not endpoints the monitor calls): the five the SDK wraps, so the sandbox reads their
parameters as the SDK sends them (``AudienceApi.dmp_custom_audience_list``, ``CreativeManagementApi
.creative_portfolio_list``, ``FileApi.ad_video_search``, ``MeasurementApi.pixel_list`` and ``pixel_event_stats``
with its ``DateRange`` model). ``file/image/ad/search/``, ``file/music/get/``, ``tt_video/list/`` and
``pixel/instant_page/event/`` have no SDK method (tests/sandbox/test_sandbox_library covers them)."""

from __future__ import annotations

from typing import Any

import business_api_client as sdk
import pytest
from business_api_client import models
from sdk_world import NY, TODAY, TOKEN, ok

from monitor.sandbox import Sandbox


@pytest.mark.endpoints("dmp/custom_audience/list/", "creative/portfolio/list/", "file/video/ad/search/")
def test_audiences_portfolios_and_videos(api_client: Any, sandbox: Sandbox) -> None:
    audiences = ok(sdk.AudienceApi(api_client).dmp_custom_audience_list(NY, TOKEN, page=1, page_size=100))["list"]
    assert len(audiences) == 3
    one = ok(
        sdk.AudienceApi(api_client).dmp_custom_audience_list(
            NY, TOKEN, custom_audience_ids=[audiences[0]["audience_id"]]
        )
    )["list"]
    assert [a["audience_id"] for a in one] == [audiences[0]["audience_id"]]
    portfolios = ok(
        sdk.CreativeManagementApi(api_client).creative_portfolio_list(
            NY, TOKEN, filtering=models.FilteringCreativePortfolioList(creative_portfolio_types=["CTA"]), page_size=100
        )
    )["creative_portfolios"]
    assert [p["creative_portfolio_type"] for p in portfolios] == ["CTA"]
    ad = sandbox.world.advertisers[NY].campaigns[0].adgroups[0].ads[0]
    video_id = f"v10033g5{ad.ad_id[-12:]}"  # what ad/get answers in video_id
    videos = ok(
        sdk.FileApi(api_client).ad_video_search(
            NY, TOKEN, filtering=models.FilteringVideoAdSearch(video_ids=[video_id], displayable=True), page_size=100
        )
    )["list"]
    assert [(v["video_id"], v["file_name"]) for v in videos] == [(video_id, f"{ad.name}.mp4")]


@pytest.mark.endpoints("pixel/list/", "pixel/event/stats/")
def test_pixel_list_and_event_stats(api_client: Any) -> None:
    measurement = sdk.MeasurementApi(api_client)
    [pixel] = ok(measurement.pixel_list(NY, TOKEN, page=1, page_size=20))["pixels"]
    assert pixel["pixel_code"].startswith("C") and pixel["events"][0]["event_type"] == "COMPLETE_PAYMENT"
    stats = ok(
        measurement.pixel_event_stats(
            NY, [pixel["pixel_id"]], models.DateRange(start_date=TODAY, end_date=TODAY), TOKEN
        )
    )["list"]
    assert [s["pixel_id"] for s in stats] == [pixel["pixel_id"]]
    assert stats[0]["statistics"][0]["total_count"] > 0  # the day's conversions, 16:30 in New York
