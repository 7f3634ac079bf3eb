"""Parsing of the API's string-typed numbers: "-" is no data, never zero."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.domain import Level, zone_or_utc
from monitor.tiktok.models import AdvertiserInfo, Entity, parse_metric


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("spend", "14.68", 14.68),
        ("impressions", "1079", 1079),
        ("impressions", "1,079", 1079),
        ("ctr", "1.25", 1.25),
        ("ctr", "1.25%", 1.25),
        ("conversion", "0", 0),
        ("conversion", "-", None),
        ("cpc", "", None),
        ("cpc", None, None),
        ("cpc", "abc", None),
        ("cpc", "NaN", None),
        ("spend", 12.5, 12.5),
        ("campaign_name", "Summer - 1", "Summer - 1"),
        ("currency", "USD", "USD"),
    ],
)
def test_parse_metric(name, raw, expected):
    assert parse_metric(name, raw) == expected


def test_zero_and_missing_stay_distinct():
    assert parse_metric("conversion", "0") == 0
    assert parse_metric("conversion", "0") is not None
    assert parse_metric("conversion", "-") is None


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimal_strings_round_trip(value):
    parsed = parse_metric("spend", str(value))
    assert parsed is not None
    assert abs(float(parsed) - float(value)) < 1e-6


def test_entity_from_api_keeps_ids_as_strings_and_parses_budget():
    row = {"ad_id": 7123456789012345678, "ad_name": "x", "adgroup_id": "2", "campaign_id": "1", "budget": "-"}
    entity = Entity.from_api(Level.AD, "700", row)
    assert entity.id == "7123456789012345678"
    assert (entity.campaign_id, entity.adgroup_id, entity.advertiser_id) == ("1", "2", "700")
    assert entity.budget is None


def test_advertiser_local_date_uses_its_time_zone():
    instant = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    auckland = AdvertiserInfo("1", "nz", "STATUS_ENABLE", "NZD", "Pacific/Auckland")
    honolulu = AdvertiserInfo("2", "hi", "STATUS_ENABLE", "USD", "Pacific/Honolulu")
    assert auckland.local_date(instant).isoformat() == "2026-11-25"
    assert honolulu.local_date(instant).isoformat() == "2026-11-24"
    assert AdvertiserInfo("3", "x", None, None, "Not/AZone").zone() is UTC


def test_an_unknown_time_zone_means_utc_and_is_said_once(caplog):
    with caplog.at_level(logging.WARNING, logger="monitor.tiktok.models"):
        assert zone_or_utc("Mars/Olympus_Mons") is UTC
        assert zone_or_utc("Mars/Olympus_Mons") is UTC
    assert [r.getMessage() for r in caplog.records] == [
        "unknown time zone 'Mars/Olympus_Mons': its local days and hours are counted in UTC"
    ]
    assert zone_or_utc("Asia/Tokyo").utcoffset(datetime(2026, 11, 24)).total_seconds() == 9 * 3600
    assert zone_or_utc(None) is UTC
