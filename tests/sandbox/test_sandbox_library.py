"""The asset library and pixel endpoints Airbyte's connector reads (issue 20), over real HTTP: audiences,
creative assets (videos, images, music, portfolios), Spark Ads posts, pixels and their statistics."""

from __future__ import annotations

from sandbox_http import NY, TYO, Api

from monitor.sandbox import Sandbox


async def test_custom_audiences_page_and_filter_by_id(api: Api) -> None:
    first = await api.get("dmp/custom_audience/list/", advertiser_id=NY, page=1, page_size=2)
    assert first.code == 0
    assert len(first.data["list"]) == 2 and first.data["page_info"]["total_number"] == 3
    rest = await api.get("dmp/custom_audience/list/", advertiser_id=NY, page=2, page_size=2)
    ids = [a["audience_id"] for a in first.data["list"] + rest.data["list"]]
    assert len(set(ids)) == 3 and all(i.isdigit() for i in ids)
    one = await api.get("dmp/custom_audience/list/", advertiser_id=NY, custom_audience_ids=[ids[1]])
    assert [a["audience_id"] for a in one.data["list"]] == [ids[1]]
    assert {a["audience_type"] for a in first.data["list"] + rest.data["list"]} == {
        "CUSTOMER_FILE",
        "ENGAGEMENT",
        "LOOKALIKE",
    }
    too_big = await api.get("dmp/custom_audience/list/", advertiser_id=NY, page_size=101)
    assert too_big.code == 40002  # 1-100, as the SDK documents


async def test_videos_are_the_ads_videos(api: Api, sandbox: Sandbox) -> None:
    ads = await api.get("ad/get/", advertiser_id=NY, page_size=1000, fields=["ad_id", "video_id"])
    by_video = {a["video_id"]: a["ad_id"] for a in ads.data["list"]}
    videos = await api.get("file/video/ad/search/", advertiser_id=NY, page_size=100)
    assert videos.code == 0
    assert {v["video_id"] for v in videos.data["list"]} == set(by_video)
    v = videos.data["list"][0]
    assert (v["width"], v["height"], v["format"], v["displayable"]) == (720, 1280, "mp4", True)
    one = await api.get("file/video/ad/search/", advertiser_id=NY, filtering={"video_ids": [v["video_id"]]})
    assert [x["video_id"] for x in one.data["list"]] == [v["video_id"]]
    none = await api.get("file/video/ad/search/", advertiser_id=NY, filtering={"displayable": False})
    assert none.data["list"] == [] and none.data["page_info"]["total_number"] == 0
    paged = await api.get("file/video/ad/search/", advertiser_id=NY, page=2, page_size=5)
    assert len(paged.data["list"]) == 5 and paged.data["page_info"]["total_number"] == len(by_video)
    refused = await api.get("file/video/ad/search/", advertiser_id=NY, filtering={"ratio": [0.5625]})
    assert refused.code == 40002 and "not simulated" in refused.body["message"]


async def test_images_music_and_portfolios(api: Api, sandbox: Sandbox) -> None:
    campaigns = sandbox.world.advertisers[NY].campaigns
    images = await api.get("file/image/ad/search/", advertiser_id=NY, page_size=100)
    assert images.code == 0
    assert sorted(i["image_id"] for i in images.data["list"]) == sorted(
        f"ad-site-i18n-sg/{c.campaign_id}" for c in campaigns
    )
    assert (await api.get("file/image/ad/search/", advertiser_id=NY, filtering={"image_ids": ["x"]})).code == 40002
    music = await api.get("file/music/get/", advertiser_id=NY, page_size=100)
    assert music.code == 0 and len(music.data["musics"]) == 2
    assert music.data["musics"][0]["duration"] == 30.0 and music.data["musics"][0]["sources"] == ["CUSTOM"]
    portfolios = await api.get("creative/portfolio/list/", advertiser_id=NY, page_size=100)
    [p] = portfolios.data["creative_portfolios"]
    assert p["creative_portfolio_type"] == "CTA"
    other = await api.get(
        "creative/portfolio/list/", advertiser_id=NY, filtering={"creative_portfolio_types": ["CARD"]}
    )
    assert other.data["creative_portfolios"] == []


async def test_spark_ads_posts_page_at_most_50(api: Api, sandbox: Sandbox) -> None:
    posts = await api.get("tt_video/list/", advertiser_id=NY, page_size=50)
    assert posts.code == 0
    assert len(posts.data["list"]) == len(sandbox.world.advertisers[NY].campaigns)
    post = posts.data["list"][0]
    assert post["item_info"]["item_id"].isdigit() and post["auth_info"]["ad_auth_status"] == "AUTHORIZED"
    assert (await api.get("tt_video/list/", advertiser_id=NY, page_size=51)).code == 40002


async def test_pixels_and_their_statistics(api: Api) -> None:
    listed = await api.get("pixel/list/", advertiser_id=NY, page_size=20)
    assert listed.code == 0
    [pixel] = listed.data["pixels"]
    assert [e["event_type"] for e in pixel["events"]] == ["COMPLETE_PAYMENT"]
    assert (await api.get("pixel/list/", advertiser_id=NY, name="no such")).data["pixels"] == []
    assert (await api.get("pixel/list/", advertiser_id=NY, page_size=21)).code == 40002
    events = await api.get(
        "pixel/instant_page/event/", advertiser_id=NY, objective_type="WEB_CONVERSIONS", optimization_goal="CONVERT"
    )
    assert events.code == 0 and events.data["list"] == []  # the sandbox's advertisers have no instant pages
    span = {"start_date": "2026-11-24", "end_date": "2026-11-24"}
    stats = await api.get("pixel/event/stats/", advertiser_id=NY, pixel_ids=[pixel["pixel_id"]], date_range=span)
    assert stats.code == 0
    [row] = stats.data["list"]
    [complete] = row["statistics"]
    report = await api.get(
        "report/integrated/get/",
        advertiser_id=NY,
        report_type="BASIC",
        data_level="AUCTION_ADVERTISER",
        dimensions=["advertiser_id"],
        metrics=["conversion"],
        start_date="2026-11-24",
        end_date="2026-11-24",
    )
    conversions = int(report.data["list"][0]["metrics"]["conversion"])
    assert conversions > 0 and complete["total_count"] == complete["attributed_count"] == conversions
    other = await api.get("pixel/list/", advertiser_id=TYO)
    wrong = await api.get(
        "pixel/event/stats/", advertiser_id=NY, pixel_ids=[other.data["pixels"][0]["pixel_id"]], date_range=span
    )
    assert wrong.code == 40002 and "does not exist" in wrong.body["message"]


async def test_pixel_stats_refuse_what_airbyte_4_7_0_sends(api: Api) -> None:
    """The connector interpolates ``date_range`` without quotes (not JSON) with a start 29 days after today,
    and ``pixel_ids`` as one bare id: TikTok documents a JSON object and a JSON list."""
    pixel_id = (await api.get("pixel/list/", advertiser_id=NY)).data["pixels"][0]["pixel_id"]
    bare = await api.get(
        "pixel/event/stats/", advertiser_id=NY, pixel_ids=pixel_id, date_range='{"start_date":"2026-11-24"}'
    )
    assert bare.code == 40002 and "pixel_ids" in bare.body["message"]
    unquoted = await api.get(
        "pixel/event/stats/",
        advertiser_id=NY,
        pixel_ids=[pixel_id],
        date_range='{"start_date":2026-12-23,"end_date":2026-11-24}',
    )
    assert unquoted.code == 40002 and "date_range" in unquoted.body["message"]
    backwards = {"start_date": "2026-12-23", "end_date": "2026-11-24"}
    late = await api.get("pixel/event/stats/", advertiser_id=NY, pixel_ids=[pixel_id], date_range=backwards)
    assert late.code == 40002 and "end_date" in late.body["message"]
