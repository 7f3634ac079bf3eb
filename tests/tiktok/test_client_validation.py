"""Hostile or malformed answers, over real HTTP (the sandbox's ``patch`` fault): each is a BadResponseError
naming the endpoint and the field, never an empty list, a made-up value or a traceback; pagination stops at
the count page 1 gives, or refuses a list it cannot read whole."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest

from monitor.domain import Level
from monitor.errors import MonitorError
from monitor.sandbox import Fault
from monitor.tiktok.client import MAX_PAGES, TikTokClient
from monitor.tiktok.errors import ApiError, BadResponseError, TransientApiError
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.reports import parse_csv_report

ADV = "7000000000000000001"
OTHER = "7000000000000000002"


def calls(sandbox, path: str) -> int:
    return sum(1 for a in sandbox.arrivals if a.path == path)


def patch(sandbox, path: str, *ops: dict, count: int = 1, advertiser_id: str | None = None) -> None:
    sandbox.faults.add(Fault(kind="patch", path=path, patch=list(ops), count=count, advertiser_id=advertiser_id))


def replace(at: str, value: object) -> dict:
    return {"op": "replace", "path": at, "value": value}


def add(at: str, value: object) -> dict:
    return {"op": "add", "path": at, "value": value}


def remove(at: str) -> dict:
    return {"op": "remove", "path": at}


async def bad(call) -> BadResponseError:
    with pytest.raises(BadResponseError) as info:
        await call
    assert isinstance(info.value, ApiError) and isinstance(info.value, MonitorError)
    assert not isinstance(info.value, TransientApiError)  # the same answer would come back: not retried at once
    assert "\n" not in str(info.value)
    return info.value


# -- pagination ------------------------------------------------------------------------------------------------


async def test_a_huge_total_page_is_not_followed_when_total_number_says_one_page(sandbox, make_client, caplog):
    patch(sandbox, "campaign/get/", replace("/data/page_info/total_page", 1_000_000))
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.client"):
        campaigns = await make_client().campaigns(ADV)
    assert len(campaigns) == 3
    assert calls(sandbox, "campaign/get/") == 1
    assert "page_info.total_page 1000000 disagrees with total_number 3 at page_size 1000: reading 1 page" in caplog.text


async def test_a_count_past_the_cap_is_refused_after_page_one(sandbox, make_client, caplog):
    patch(
        sandbox,
        "ad/get/",
        replace("/data/page_info/total_number", 10**9),
        replace("/data/page_info/total_page", 10**6),
    )
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.client"):
        error = await bad(make_client().ads(ADV))
    assert calls(sandbox, "ad/get/") == 1
    assert error.field == "data.page_info.total_number"
    assert str(error).startswith(
        f"ad/get/: data.page_info.total_number is 1000000000: 1000000 pages of 1000, more than the {MAX_PAGES} "
        "a list may take; the list would be incomplete (advertiser 7000000000000000001)"
    )
    assert "more than the cap" in caplog.text


async def test_total_page_alone_past_the_cap_is_refused_too(sandbox, make_client):
    patch(sandbox, "ad/get/", remove("/data/page_info/total_number"), replace("/data/page_info/total_page", 10**6))
    error = await bad(make_client().ads(ADV))
    assert error.field == "data.page_info.total_page" and calls(sandbox, "ad/get/") == 1


async def test_pages_that_hold_fewer_rows_than_the_count_fail_the_read(sandbox, make_client):
    # 24 ads at 5 a page: 5 pages; the count says 40 (8 pages) but page 5 is short, so the rest are not asked for
    patch(sandbox, "ad/get/", replace("/data/page_info/total_number", 40))
    error = await bad(make_client().ads(ADV, page_size=5))
    assert error.field == "data.page_info.total_number"
    assert "is 40 but 5 page(s) of 5 held 24 rows: the list is incomplete" in str(error)
    assert calls(sandbox, "ad/get/") == 5  # pages 2-5 in one batch of four; page 5 was short: no more asked for


async def test_without_page_info_pages_are_read_while_full_up_to_the_cap(sandbox, make_client):
    client = make_client()
    patch(sandbox, "campaign/get/", remove("/data/page_info"), count=10)
    assert len(await client.campaigns(ADV, page_size=1)) == 3
    assert calls(sandbox, "campaign/get/") == 4  # the 4th page was empty: the end
    capped = TikTokClient(client.transport, max_pages=2)
    sandbox.arrivals.clear()
    error = await bad(capped.campaigns(ADV, page_size=1))
    assert calls(sandbox, "campaign/get/") == 2
    assert "data.list was still full on page 2 and page_info gives no total_number" in str(error)
    sandbox.faults.clear()


async def test_a_smaller_page_size_than_asked_is_followed(sandbox, make_client):
    # TikTok says it used 2 rows per page (as for RESERVATION_TOP_VIEW's lower maximum): pages count by that
    patch(sandbox, "campaign/get/", replace("/data/page_info/page_size", 2), remove("/data/list/2"))
    third = {"campaign_id": "7100000000000000009", "campaign_name": "third", "advertiser_id": ADV}
    patch(sandbox, "campaign/get/", replace("/data/list", [third]))
    campaigns = await make_client().campaigns(ADV, page_size=10)
    assert len(campaigns) == 3 and calls(sandbox, "campaign/get/") == 2
    assert "third" in {c.name for c in campaigns}


# -- wrong shapes ----------------------------------------------------------------------------------------------


async def test_data_that_is_a_list_is_an_error_not_an_empty_list(sandbox, make_client):
    patch(sandbox, "campaign/get/", replace("/data", [1, 2, 3]))
    error = await bad(make_client().campaigns(ADV))
    assert str(error).startswith("campaign/get/: data is a list, expected an object (advertiser 7000000000000000001)")
    assert "[request_id " in str(error) and error.request_id and error.code is None


async def test_data_without_list_is_an_error(sandbox, make_client):
    patch(sandbox, "adgroup/get/", remove("/data/list"))
    error = await bad(make_client().adgroups(ADV))
    assert error.field == "data.list"
    assert str(error).startswith("adgroup/get/: data.list is missing")


async def test_missing_data_is_an_error(sandbox, make_client):
    patch(sandbox, "ad/get/", remove("/data"))
    assert (await bad(make_client().ads(ADV))).field == "data"


async def test_a_bool_advertiser_id_is_an_error_naming_the_row(sandbox, make_client):
    patch(sandbox, "campaign/get/", add("/data/list/2/advertiser_id", True))
    error = await bad(make_client().campaigns(ADV))
    assert str(error).startswith(
        "campaign/get/: data.list[2].advertiser_id is a bool, expected a string or number (advertiser "
    )


async def test_a_row_of_another_advertiser_is_refused(sandbox, make_client):
    patch(sandbox, "campaign/get/", add("/data/list/0/advertiser_id", OTHER))
    error = await bad(make_client().campaigns(ADV))
    assert f"data.list[0].advertiser_id is {OTHER}, expected {ADV}" in str(error)


@pytest.mark.parametrize(
    ("at", "value", "message"),
    [
        ("/data/list/1/campaign_id", True, "data.list[1].campaign_id is a bool, expected a string or number"),
        ("/data/list/1/campaign_id", 1.5, "data.list[1].campaign_id is a decimal number, expected a string"),
        ("/data/list/1/campaign_id", "", "data.list[1].campaign_id is an empty string, expected an id"),
        ("/data/list/1/campaign_id", None, "data.list[1].campaign_id is missing"),
        ("/data/list/0/operation_status", ["ENABLE"], "data.list[0].operation_status is a list, expected a string"),
        ("/data/list/0/budget", {"amount": 5}, "data.list[0].budget is an object, expected a number"),
        ("/data/list/0/budget", "lots", "data.list[0].budget is 'lots', expected a number"),
        ("/data/list/0", 5, "data.list[0] is a number, expected an object"),
        ("/data/list", {"0": {}}, "data.list is an object, expected a list"),
        ("/data/page_info", "1", "data.page_info is a string, expected an object"),
        ("/data/page_info/total_number", -1, "data.page_info.total_number is -1, expected a whole number >= 0"),
        ("/data/page_info/total_number", True, "data.page_info.total_number is a bool, expected a whole number"),
    ],
)
async def test_wrong_typed_entity_fields_are_named(sandbox, make_client, at, value, message):
    patch(sandbox, "campaign/get/", replace(at, value))
    error = await bad(make_client().campaigns(ADV))
    assert str(error).startswith(f"campaign/get/: {message}")


async def test_a_wrong_row_on_a_later_page_names_the_page(sandbox, make_client):
    sandbox.faults.add(Fault(kind="slow", delay=0, path="ad/get/"))  # page 1 takes this one
    patch(sandbox, "ad/get/", replace("/data/list/0/ad_id", False))  # and one of pages 2-5 this one
    error = await bad(make_client().ads(ADV, page_size=5))
    assert re.match(
        r"ad/get/: data\.list\[0\]\.ad_id is a bool, expected a string or number \(page [2-5]\)", str(error)
    )


async def test_ids_may_be_numbers_on_the_wire_and_stay_exact_strings(sandbox, make_client):
    big = 7_123_456_789_012_345_678  # past 2**53: a float would change it
    patch(sandbox, "campaign/get/", replace("/data/list/0/campaign_id", big), replace("/data/list/0/budget", "-"))
    campaigns = await make_client().campaigns(ADV)
    got = next(c for c in campaigns if c.id == str(big))
    assert got.budget is None  # "-" is no value, not 0


async def test_a_report_metrics_row_that_is_not_an_object_is_an_error(sandbox, clock, make_client):
    query = ReportQuery(Level.CAMPAIGN, ("spend", "impressions"), date(2026, 11, 24))
    patch(sandbox, "report/integrated/get/", replace("/data/list/0/metrics", "spend=1"))
    error = await bad(make_client().report(ADV, query))
    assert str(error).startswith(
        "report/integrated/get/: data.list[0].metrics is a string, expected an object (advertiser "
    )


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (replace("/data/list/0", [1]), "data.list[0] is a list, expected an object"),
        (remove("/data/list/0/dimensions"), "data.list[0].dimensions is missing"),
        (remove("/data/list/0/dimensions/campaign_id"), "data.list[0].dimensions.campaign_id is missing"),
        (replace("/data/list/0/dimensions/campaign_id", True), "data.list[0].dimensions.campaign_id is a bool"),
        (replace("/data/list/0/metrics/spend", {"v": 1}), "data.list[0].metrics.spend is an object, expected a"),
        (replace("/data/list/0/metrics/spend", False), "data.list[0].metrics.spend is a bool, expected a string"),
    ],
)
async def test_wrong_report_rows_are_named(sandbox, make_client, op, message):
    query = ReportQuery(Level.CAMPAIGN, ("spend",), date(2026, 11, 24))
    patch(sandbox, "report/integrated/get/", op)
    error = await bad(make_client().report(ADV, query))
    assert str(error).startswith(f"report/integrated/get/: {message}")


async def test_missing_report_values_stay_none_and_numeric_ids_become_strings(sandbox, make_client):
    query = ReportQuery(Level.CAMPAIGN, ("spend", "conversion"), date(2026, 11, 24))
    patch(
        sandbox,
        "report/integrated/get/",
        replace("/data/list/0/metrics/spend", None),
        replace("/data/list/0/metrics/conversion", "-"),
        replace("/data/list/0/dimensions/campaign_id", 1234),
    )
    report = await make_client().report(ADV, query)
    row = next(r for r in report.rows if r.dimensions["campaign_id"] == "1234")
    assert row.metrics == {"spend": None, "conversion": None}


@pytest.mark.parametrize("wire", ["0.00", "0", "-", "1.75"])
async def test_a_ratio_over_a_zero_count_is_no_data_whatever_the_api_sends(sandbox, make_client, wire):
    query = ReportQuery(Level.CAMPAIGN, ("spend", "clicks", "cpc", "impressions", "ctr"), date(2026, 11, 24))
    patch(
        sandbox,
        "report/integrated/get/",
        replace("/data/list/0/metrics/clicks", "0"),
        replace("/data/list/0/metrics/cpc", wire),
        replace("/data/list/0/dimensions/campaign_id", "1234"),
    )
    report = await make_client().report(ADV, query)
    row = next(r for r in report.rows if r.dimensions["campaign_id"] == "1234")
    assert row.metrics["clicks"] == 0 and row.metrics["cpc"] is None
    assert isinstance(row.metrics["ctr"], float) and row.metrics["impressions"] > 0  # impressions were not zero


def test_a_csv_ratio_over_a_zero_count_is_no_data():
    text = "campaign_id,spend,clicks,cpc,conversion,cost_per_conversion\n1,2.50,0,0.00,0,0.00\n2,2.50,5,0.50,0,-\n"
    rows = parse_csv_report(text, ["campaign_id"])
    assert rows[0].metrics == {
        "spend": 2.5, "clicks": 0, "cpc": None, "conversion": 0, "cost_per_conversion": None,
    }  # fmt: skip
    assert rows[1].metrics["cpc"] == 0.5 and rows[1].metrics["cost_per_conversion"] is None


@pytest.mark.parametrize(
    ("path", "op", "message"),
    [
        ("advertiser/info/", remove("/data/list"), "advertiser/info/: data.list is missing"),
        ("advertiser/info/", replace("/data/list/0/advertiser_id", True), "advertiser/info/: data.list[0].advertis"),
        ("advertiser/info/", replace("/data/list/0/balance", [1]), "advertiser/info/: data.list[0].balance is a list"),
        ("advertiser/info/", replace("/data", "ok"), "advertiser/info/: data is a string, expected an object"),
    ],
)
async def test_advertiser_info_is_checked(sandbox, make_client, path, op, message):
    patch(sandbox, path, op)
    error = await bad(make_client().advertiser_info([ADV]))
    assert str(error).startswith(message)


async def test_advertiser_discovery_is_checked(sandbox, make_client):
    patch(sandbox, "oauth2/advertiser/get/", replace("/data/list/1", "7000000000000000002"))
    error = await bad(make_client().advertisers())
    assert str(error).startswith("oauth2/advertiser/get/: data.list[1] is a string, expected an object")
    patch(sandbox, "oauth2/advertiser/get/", remove("/data/list/0/advertiser_id"))
    assert (await bad(make_client().advertisers())).field == "data.list[0].advertiser_id"


async def test_business_center_listings_are_checked(sandbox, make_client):
    client = make_client()
    patch(sandbox, "bc/get/", remove("/data/list/0/bc_info"))
    assert str(await bad(client.business_centers())).startswith("bc/get/: data.list[0].bc_info is missing")
    patch(sandbox, "bc/get/", replace("/data/list/0/bc_info/bc_id", False))
    assert (await bad(client.business_centers())).field == "data.list[0].bc_info.bc_id"
    bc_id = (await client.business_centers())[0].id
    patch(sandbox, "bc/asset/get/", replace("/data/list/0/asset_id", {"id": 1}))
    error = await bad(client.bc_advertisers(bc_id))
    assert str(error).startswith("bc/asset/get/: data.list[0].asset_id is an object, expected a string or number")
    patch(sandbox, "bc/asset/get/", replace("/data", None))
    assert str(await bad(client.bc_advertisers(bc_id))).startswith("bc/asset/get/: data is missing")


@pytest.mark.parametrize(
    ("path", "op", "message"),
    [
        ("report/task/create/", remove("/data/task_id"), "report/task/create/: data.task_id is missing"),
        ("report/task/create/", replace("/data/task_id", True), "report/task/create/: data.task_id is a bool"),
        ("report/task/check/", remove("/data/status"), "report/task/check/: data.status is missing"),
        ("report/task/check/", replace("/data/status", {}), "report/task/check/: data.status is an object"),
        ("report/task/check/", replace("/data", [1, 2, 3]), "report/task/check/: data is a list, expected an object"),
    ],
)
async def test_async_report_task_answers_are_checked(sandbox, make_client, path, op, message):
    query = ReportQuery(Level.CAMPAIGN, ("spend",), date(2026, 11, 24))
    patch(sandbox, path, op)
    error = await bad(make_client().async_report(ADV, query, max_wait=30.0, sleep=_no_sleep))
    assert str(error).startswith(message)


async def test_async_report_download_link_is_checked(sandbox, make_client):
    query = ReportQuery(Level.CAMPAIGN, ("spend",), date(2026, 11, 24))
    # the JSON form of the download (as CSV_DOWNLOAD answers) without its download_url
    patch(sandbox, "report/task/download/", replace("", {"code": 0, "message": "OK", "request_id": "r", "data": {}}))
    error = await bad(make_client().async_report(ADV, query, max_wait=30.0, sleep=_no_sleep))
    assert str(error).startswith("report/task/download/: data.download_url is missing")


def test_a_csv_report_without_the_dimension_column_is_an_error():
    with pytest.raises(BadResponseError) as info:
        parse_csv_report("stat_time_day,spend\n2026-11-24,1.5\n", ["campaign_id"], advertiser_id=ADV)
    assert str(info.value).startswith("report/task/download/: CSV header has no column campaign_id")
    assert parse_csv_report("", ["campaign_id"]) == ()
    rows = parse_csv_report("campaign_id,spend\n1,-\n", ["campaign_id"])
    assert rows[0].dimensions == {"campaign_id": "1"} and rows[0].metrics == {"spend": None}


async def _no_sleep(seconds: float) -> None:
    return None
