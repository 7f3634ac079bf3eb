"""report/integrated/get/ and the async report tasks."""

from __future__ import annotations

import csv
import io
import json

from sandbox_http import NY, Api, report

from monitor.clock import FrozenClock
from monitor.sandbox import Fault, Sandbox

TODAY = "2026-11-24"
BASE = {
    "advertiser_id": NY,
    "report_type": "BASIC",
    "data_level": "AUCTION_CAMPAIGN",
    "dimensions": ["campaign_id"],
    "start_date": TODAY,
    "end_date": TODAY,
}


async def test_rows_are_strings_with_zero_for_zero_denominators(api: Api, sandbox: Sandbox) -> None:
    """A cost-per-X over zero conversions is "0.00", as TikTok sends it (the Singer tap's schemas want numbers
    there; metrics.py); "-" only for what does not apply (secondary goals)."""
    metrics = [
        "spend",
        "impressions",
        "ctr",
        "cpc",
        "cpm",
        "conversion",
        "cost_per_conversion",
        "conversion_rate",
        "campaign_name",
        "currency",
        "likes",
        "reach",
        "frequency",
        "result",
        "cost_per_result",
        "real_time_cost_per_conversion",
        "cost_per_secondary_goal_result",
        "secondary_goal_result",
    ]
    rows = await report(api, NY, "AUCTION_CAMPAIGN", TODAY, metrics=metrics)
    no_conv = sandbox.world.advertisers[NY].campaigns[1]  # its ads convert at 0 %
    m = rows[no_conv.campaign_id]
    assert all(isinstance(v, str) for v in m.values())
    assert m["conversion"] == "0" and m["cost_per_conversion"] == "0.00" and m["cost_per_result"] == "0.00"
    assert m["real_time_cost_per_conversion"] == "0.00"
    assert m["secondary_goal_result"] == "-" and m["cost_per_secondary_goal_result"] == "-"
    assert m["conversion_rate"] == "0.00"
    assert m["likes"] == "0"  # not simulated: zero, as for an ad without engagement
    assert m["campaign_name"] == no_conv.name and m["currency"] == "USD"
    spend, impressions = float(m["spend"]), int(m["impressions"])
    assert m["spend"] == f"{spend:.2f}" and abs(float(m["cpm"]) - spend / impressions * 1000) < 0.01
    assert 0.5 < float(m["ctr"]) < 2.6  # a percentage


async def test_entities_without_spend_get_no_row(api: Api, sandbox: Sandbox) -> None:
    disabled = sandbox.world.advertisers[NY].campaigns[2]  # paused days ago
    today = await report(api, NY, "AUCTION_CAMPAIGN", TODAY)
    assert disabled.campaign_id not in today and len(today) == 2
    lifetime = await report(api, NY, "AUCTION_CAMPAIGN", TODAY, query_lifetime="true")
    assert float(lifetime[disabled.campaign_id]["spend"]) > 0
    future = await report(api, NY, "AUCTION_CAMPAIGN", "2026-12-01")
    assert future == {}


async def test_dimensions_metrics_and_dates_are_validated(api: Api) -> None:
    cases = [
        ({"dimensions": ["adgroup_id"]}, "dimensions"),
        ({"dimensions": []}, "dimensions"),
        ({"metrics": ["spend", "Spend!"]}, "Spend!"),  # the list is open, but a name is lower-case snake_case
        ({"data_level": "AUCTION_SOMETHING"}, "data_level"),
        ({"report_type": "AUDIENCE"}, "audience dimension"),
        ({"report_type": "CATALOG"}, "report_type"),
        ({"start_date": "24/11/2026"}, "start_date"),
        ({"end_date": "2026-11-01"}, "end_date"),
        ({"dimensions": ["campaign_id", "stat_time_day"], "start_date": "2026-10-01", "end_date": "2026-11-24"}, "30"),
        ({"dimensions": ["campaign_id", "stat_time_hour"], "start_date": "2026-11-23"}, "1 day"),
        ({"start_date": "2025-01-01"}, "365"),
        ({"dimensions": ["campaign_id", "stat_time_day"], "query_lifetime": "true"}, "query_lifetime"),
        ({"page_size": "1001"}, "page_size"),
    ]
    for change, needle in cases:
        r = await api.get("report/integrated/get/", **{**BASE, **change})
        assert r.code == 40002 and needle in r.body["message"], (change, r.body)
    missing = dict(BASE)
    del missing["dimensions"]
    assert (await api.get("report/integrated/get/", **missing)).code == 40002
    ok = await api.get(
        "report/integrated/get/", **{**BASE, "dimensions": ["campaign_id", "stat_time_day"], "start_date": "2026-10-26"}
    )
    assert ok.code == 0  # 30 days is allowed


async def test_filtering_takes_json_array_strings(api: Api, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    flt = [{"field_name": "campaign_ids", "filter_type": "IN", "filter_value": json.dumps([c.campaign_id])}]
    r = await api.get("report/integrated/get/", **BASE, filtering=flt)
    assert [row["dimensions"]["campaign_id"] for row in r.data["list"]] == [c.campaign_id]
    bad = [{"field_name": "campaign_ids", "filter_type": "IN", "filter_value": "not json"}]
    assert (await api.get("report/integrated/get/", **BASE, filtering=bad)).code == 40002
    as_object = {"campaign_ids": [c.campaign_id]}  # the v1.2-style object is not accepted
    assert (await api.get("report/integrated/get/", **BASE, filtering=as_object)).code == 40002
    too_many = [
        {"field_name": "campaign_ids", "filter_type": "IN", "filter_value": json.dumps([str(i) for i in range(101)])}
    ]
    assert (await api.get("report/integrated/get/", **BASE, filtering=too_many)).code == 40002


async def test_report_pagination_and_order(api: Api) -> None:
    params = {**BASE, "data_level": "AUCTION_AD", "dimensions": ["ad_id"], "page_size": "4"}
    first = await api.get("report/integrated/get/", **params)
    info = first.data["page_info"]
    assert info["page_size"] == 4 and info["total_number"] > 4 and info["total_page"] == -(-info["total_number"] // 4)
    rest = [await api.get("report/integrated/get/", **params, page=str(p)) for p in range(2, info["total_page"] + 1)]
    ids = [row["dimensions"]["ad_id"] for r in [first, *rest] for row in r.data["list"]]
    assert ids == sorted(ids, key=int, reverse=True) and len(ids) == info["total_number"]
    by_spend = await api.get(
        "report/integrated/get/", **{**params, "page_size": "100"}, order_field="spend", order_type="ASC"
    )
    spends = [float(row["metrics"]["spend"]) for row in by_spend.data["list"]]
    assert spends == sorted(spends)


async def test_async_report_flow_returns_csv(api: Api, sandbox: Sandbox) -> None:
    body = {
        **BASE,
        "dimensions": ["campaign_id", "stat_time_day"],
        "metrics": ["spend", "cost_per_conversion"],
        "start_date": "2026-10-01",
    }  # 55 days: no range limit for async reports
    created = await api.post("report/task/create/", body)
    assert created.code == 0
    task_id = created.data["task_id"]
    early = await api.get("report/task/download/", advertiser_id=NY, task_id=task_id)
    assert early.code == 40201
    first = await api.get("report/task/check/", advertiser_id=NY, task_id=task_id)
    assert first.data == {"task_id": task_id, "status": "QUEUING"}
    second = await api.get("report/task/check/", advertiser_id=NY, task_id=task_id)
    assert second.data["status"] == "SUCCESS"
    download = await api.get("report/task/download/", advertiser_id=NY, task_id=task_id)
    assert download.status == 200 and download.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["campaign_id", "stat_time_day", "spend", "cost_per_conversion"]
    sync = await report(
        api,
        NY,
        "AUCTION_CAMPAIGN",
        "2026-11-20",
        end=TODAY,
        time="stat_time_day",
        metrics=["spend", "cost_per_conversion"],
    )
    csv_rows = {(r[0], r[1]): {"spend": r[2], "cost_per_conversion": r[3]} for r in rows[1:]}
    assert all(csv_rows[key] == value for key, value in sync.items())
    assert len(csv_rows) > len(sync)  # older days too
    assert "0.00" in {r[3] for r in rows[1:]} and "-" not in {r[3] for r in rows[1:]}
    unknown = await api.get("report/task/check/", advertiser_id=NY, task_id="7399999999999999999")
    assert unknown.code == 40002


async def test_task_failed_fault_and_csv_download_url(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="task_failed", message="boom"))
    created = await api.post("report/task/create/", {**BASE, "output_format": "CSV_DOWNLOAD"})
    task_id = created.data["task_id"]
    failed = await api.get("report/task/check/", advertiser_id=NY, task_id=task_id)
    assert failed.data == {"task_id": task_id, "status": "FAILED", "message": "boom"}
    assert (await api.get("report/task/download/", advertiser_id=NY, task_id=task_id)).code == 40200
    ok = (await api.post("report/task/create/", {**BASE, "output_format": "CSV_DOWNLOAD"})).data["task_id"]
    for _ in range(2):
        await api.get("report/task/check/", advertiser_id=NY, task_id=ok)
    link = await api.get("report/task/download/", advertiser_id=NY, task_id=ok)
    assert link.code == 0 and link.data["output_format"] == "CSV_DOWNLOAD"
    async with api.session.get(link.data["download_url"]) as r:
        assert r.status == 200 and (await r.text()).startswith("campaign_id,spend,impressions\n")


async def test_async_report_is_a_snapshot_at_creation(api: Api, clock: FrozenClock) -> None:
    task_id = (await api.post("report/task/create/", BASE)).data["task_id"]
    clock.advance(3600)
    for _ in range(2):
        await api.get("report/task/check/", advertiser_id=NY, task_id=task_id)
    text = (await api.get("report/task/download/", advertiser_id=NY, task_id=task_id)).text
    now_rows = await report(api, NY, "AUCTION_CAMPAIGN", TODAY)
    snapshot = {r[0]: r[1] for r in list(csv.reader(io.StringIO(text)))[1:]}
    assert all(float(snapshot[k]) < float(v["spend"]) for k, v in now_rows.items() if k in snapshot)


async def test_pages_share_one_computation_for_a_few_world_seconds(api: Api, clock: FrozenClock) -> None:
    first = await report(api, NY, "AUCTION_ADVERTISER", TODAY)
    clock.advance(5)
    assert await report(api, NY, "AUCTION_ADVERTISER", TODAY) == first  # same query, same world: cached
    clock.advance(6)
    assert float((await report(api, NY, "AUCTION_ADVERTISER", TODAY))[NY]["spend"]) > float(first[NY]["spend"])


async def test_time_only_dimension_aggregates_the_whole_level(api: Api) -> None:
    r = await api.get("report/integrated/get/", **{**BASE, "dimensions": ["stat_time_day"]})
    per_campaign = await report(api, NY, "AUCTION_CAMPAIGN", TODAY)
    assert len(r.data["list"]) == 1
    row = r.data["list"][0]
    assert row["dimensions"] == {"stat_time_day": "2026-11-24 00:00:00"}
    total = sum(float(m["spend"]) for m in per_campaign.values())
    assert abs(float(row["metrics"]["spend"]) - total) < 0.02
