"""AUDIENCE reports (issue 20): a BASIC row split over audience values, adding up exactly to it; what the
sandbox does not simulate is a 40002 saying so."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from sandbox_http import AKL, NY, Api

from monitor.sandbox.audience import AGES, COUNTRIES, GENDERS, PLATFORMS, PROVINCES

TODAY = "2026-11-24"
METRICS = ["spend", "impressions", "clicks", "conversion", "cpc", "ctr", "cost_per_conversion", "campaign_name"]
BASE: dict[str, Any] = {
    "advertiser_id": NY,
    "report_type": "AUDIENCE",
    "data_level": "AUCTION_AD",
    "metrics": METRICS,
    "start_date": "2026-11-22",
    "end_date": TODAY,
    "page_size": "1000",
}


async def rows_of(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = await api.get("report/integrated/get/", **{**BASE, **params})
    assert r.code == 0, r.body
    assert r.data["page_info"]["total_page"] <= 1
    return r.data["list"]


def summed(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[str, ...], dict[str, Decimal]]:
    out: dict[tuple[str, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        key = tuple(row["dimensions"][k] for k in keys)
        for name in ("spend", "impressions", "clicks", "conversion"):
            out[key][name] += Decimal(row["metrics"][name])
    return out


@pytest.mark.parametrize(
    ("level", "audience", "values"),
    [
        ("AUCTION_AD", ("age", "gender"), {"age": AGES, "gender": GENDERS}),
        ("AUCTION_AD", ("country_code",), {"country_code": COUNTRIES}),
        ("AUCTION_ADGROUP", ("platform",), {"platform": PLATFORMS}),
        ("AUCTION_CAMPAIGN", ("province_id",), {"province_id": PROVINCES}),
        ("AUCTION_ADVERTISER", ("gender", "age"), {"age": AGES, "gender": GENDERS}),
    ],
)
async def test_audience_rows_add_up_to_the_basic_rows(api: Api, level: str, audience: tuple[str, ...], values) -> None:
    id_dim = {"AUCTION_AD": "ad_id", "AUCTION_ADGROUP": "adgroup_id", "AUCTION_CAMPAIGN": "campaign_id"}.get(
        level, "advertiser_id"
    )
    keys = (id_dim, "stat_time_day")
    split = await rows_of(api, data_level=level, dimensions=[id_dim, "stat_time_day", *audience])
    basic = await rows_of(api, data_level=level, report_type="BASIC", dimensions=list(keys))
    assert split and basic
    assert summed(split, keys) == summed(basic, keys)  # every count and every cent
    seen = {name: {row["dimensions"][name] for row in split} for name in audience}
    assert all(set(row["dimensions"]) == {*keys, *audience} for row in split)
    for name in audience:
        assert seen[name] <= set(values[name]) and len(seen[name]) > 1
    for row in split:
        m = row["metrics"]
        assert all(isinstance(v, str) for v in m.values())
        clicks, spend = int(m["clicks"]), Decimal(m["spend"])
        if clicks == 0:
            assert m["cpc"] == "0.00"
        else:  # each part's ratio from its own counts (spend as sent is rounded to cents)
            assert abs(Decimal(m["cpc"]) - spend / clicks) <= Decimal("0.01")
        if m["conversion"] == "0":
            assert m["cost_per_conversion"] == "0.00"  # a number, as TikTok sends it (metrics.py)


async def test_the_split_is_deterministic_and_differs_between_entities(api: Api) -> None:
    dims = ["campaign_id", "gender"]
    first = await rows_of(api, data_level="AUCTION_CAMPAIGN", dimensions=dims)
    assert first == await rows_of(api, data_level="AUCTION_CAMPAIGN", dimensions=dims)
    shares: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in first:
        d = row["dimensions"]
        shares[d["campaign_id"]][d["gender"]] = Decimal(row["metrics"]["impressions"])
    fractions = {c: s["FEMALE"] / sum(s.values()) for c, s in shares.items()}
    assert len(set(fractions.values())) == len(fractions) > 1


async def test_a_basic_report_may_split_by_country(api: Api) -> None:
    dims = ["campaign_id", "country_code"]
    rows = await rows_of(api, advertiser_id=AKL, report_type="BASIC", data_level="AUCTION_CAMPAIGN", dimensions=dims)
    assert {r["dimensions"]["country_code"] for r in rows} <= set(COUNTRIES)
    basic = await rows_of(
        api, advertiser_id=AKL, report_type="BASIC", data_level="AUCTION_CAMPAIGN", dimensions=dims[:1]
    )
    assert summed(rows, ("campaign_id",)) == summed(basic, ("campaign_id",))


async def test_the_async_task_gives_the_same_audience_rows(api: Api) -> None:
    body = {**BASE, "data_level": "AUCTION_CAMPAIGN", "dimensions": ["campaign_id", "age"], "metrics": ["spend"]}
    del body["page_size"]
    task_id = (await api.post("report/task/create/", body)).data["task_id"]
    for _ in range(3):
        if (await api.get("report/task/check/", advertiser_id=NY, task_id=task_id)).data["status"] == "SUCCESS":
            break
    text = (await api.get("report/task/download/", advertiser_id=NY, task_id=task_id)).text
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["campaign_id", "age", "spend"]
    sync = await rows_of(api, data_level="AUCTION_CAMPAIGN", dimensions=["campaign_id", "age"], metrics=["spend"])
    assert lines[1:] == [[r["dimensions"]["campaign_id"], r["dimensions"]["age"], r["metrics"]["spend"]] for r in sync]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"dimensions": ["ad_id"]}, "needs an audience dimension"),
        ({"dimensions": ["ad_id", "age", "country_code"]}, "not simulated"),
        ({"dimensions": ["ad_id", "platform", "gender"]}, "not simulated"),
        ({"dimensions": ["ad_id", "ac"]}, "audience dimension(s) ac is not simulated"),
        ({"dimensions": ["ad_id", "language"]}, "not simulated"),
        ({"dimensions": ["ad_id", "interest_category"]}, "not simulated"),
        ({"dimensions": ["ad_id", "age"], "query_lifetime": "true"}, "query_lifetime"),
        ({"dimensions": ["ad_id", "age"], "report_type": "BASIC"}, "needs report_type AUDIENCE"),
        ({"dimensions": ["ad_id", "age"], "report_type": "CATALOG"}, "not simulated"),
    ],
)
async def test_what_is_not_simulated_is_refused_saying_so(api: Api, change: dict[str, Any], needle: str) -> None:
    r = await api.get("report/integrated/get/", **{**BASE, **change})
    assert r.code == 40002 and needle in r.body["message"], r.body
