"""The message model: exact JSON round trips (also through the store), units, links, outbox rows."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notify_factories import ACME, HOSTILE, NOW, alert, entity

from monitor.domain import OpsKind, Outcome, freeze
from monitor.notify import (
    Action,
    AlertKind,
    MatchedValue,
    OperationalMessage,
    ads_manager_url,
    format_value,
    from_json,
    notifications,
    to_json,
    unit_for,
)
from monitor.notify.samples import sample_messages
from monitor.store import Notification
from monitor.store.values import dumps


@pytest.mark.parametrize("message", sample_messages(), ids=lambda m: f"{m.type}-{m.kind}")
def test_every_message_round_trips_exactly_through_json_text_and_the_store(message: Any) -> None:
    data = to_json(message)
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain JSON data only
    assert from_json(data) == message
    assert from_json(json.loads(dumps(data))) == message
    assert from_json(Notification("slack", data).payload) == message  # the store's frozen copy (tuples, proxies)
    assert from_json(freeze(json.loads(dumps(data)))) == message


def test_alert_json_is_the_documented_schema() -> None:
    message = alert(entity("11", HOSTILE, 612.4, None, action=Action("pause", Outcome.DRY_RUN, "rule dry_run")))
    data = to_json(message)
    assert data["type"] == "alert" and data["version"] == 1 and data["kind"] == "firing"
    assert data["rule"]["name"] == "overspend-no-conversions" and data["rule"]["severity"] == "critical"
    assert data["advertiser"] == {"id": ACME.id, "name": "Acme Outdoor US", "currency": "USD", "timezone": "Etc/GMT+5"}
    (only,) = data["entities"]
    assert only["name"] == HOSTILE  # kept as the API sent it; escaping is the renderer's job
    assert only["values"] == [
        {"name": "spend", "value": 612.4, "unit": "USD", "window": "today"},
        {"name": "conversion", "value": None, "unit": None, "window": "today"},
    ]
    assert only["action"] == {
        "type": "pause",
        "outcome": "dry run",
        "reason": "rule dry_run",
        "journal_id": None,
        "approval_id": None,
    }
    assert data["first_seen"] == (NOW - timedelta(minutes=15)).isoformat() and data["more_count"] == 0


@given(st.one_of(st.none(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False), st.text()))
def test_any_metric_value_round_trips_with_its_type(value: Any) -> None:
    message = alert(entity("1").__class__(level="ad", id="1", values=(MatchedValue("x", value),)))
    back = from_json(json.loads(json.dumps(to_json(message))))
    (got,) = back.entities[0].values
    assert got.value == value and type(got.value) is type(value)


def test_non_finite_values_are_no_data() -> None:
    assert MatchedValue("cpc", float("nan"), "USD").value is None
    assert MatchedValue("cpc", float("inf"), "USD").display == "no data"


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"type": "alert", "version": 99}, "newer"),
        ({"type": "postcard", "version": 1}, "unknown message type"),
        ({"type": "alert", "version": 1, "kind": "firing"}, "not a notification message"),
        ({"type": "ops", "version": 1, "kind": "nope"}, "not a notification message|nope"),
    ],
)
def test_from_json_refuses_what_is_not_a_message(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        from_json(data)


@pytest.mark.parametrize(
    "message, field",
    [
        (alert(), "first_seen"),
        (alert(), "now"),
        (OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "bad", NOW, NOW), "since"),
        (OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "bad", NOW, NOW), "now"),
    ],
)
def test_from_json_refuses_a_message_without_its_times(message: Any, field: str) -> None:
    # a ValueError, which the outbox gives up on, not an AttributeError that would stall the channel every round
    data = {**to_json(message), field: None}
    with pytest.raises(ValueError, match="not a notification message"):
        from_json(data)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        alert(now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "name, unit",
    [
        ("spend", "USD"),
        ("yesterday.cpc", "USD"),
        ("cpm", "USD"),
        ("cost_per_conversion", "USD"),
        ("real_time_cost_per_result", "USD"),
        ("budget", "USD"),
        ("ctr", "%"),
        ("conversion_rate", "%"),
        ("last_7d.conversion_rate_v2", "%"),
        ("impressions", None),
        ("conversion", None),
        ("frequency", None),
        ("secondary_status", None),
    ],
)
def test_units(name: str, unit: str | None) -> None:
    assert unit_for(name, "USD") == unit


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (612.4, "USD", "612.40 USD"),
        (1234567.891, "USD", "1,234,567.89 USD"),
        (81200, "JPY", "81,200 JPY"),
        (1.25, "%", "1.25 %"),
        (0, None, "0"),
        (0.0, "USD", "0.00 USD"),
        (1079, None, "1,079"),
        (1.8412, None, "1.84"),
        (None, "USD", "no data"),
        (None, None, "no data"),
        ("CAMPAIGN_STATUS_BUDGET_EXCEED", None, "CAMPAIGN_STATUS_BUDGET_EXCEED"),
    ],
)
def test_values_are_shown_with_units_and_no_data_is_never_zero(value: Any, unit: str | None, shown: str) -> None:
    assert format_value(value, unit) == shown
    assert MatchedValue("m", value, unit).display == shown


def test_ads_manager_links_are_built_from_url_encoded_ids() -> None:
    adv = "7000000000000000001"
    assert (
        ads_manager_url("campaign", adv, "18") == f"https://ads.tiktok.com/i18n/perf/campaign?aadvid={adv}&keyword=18"
    )
    assert ads_manager_url("adgroup", adv, "19").startswith("https://ads.tiktok.com/i18n/perf/adgroup?")
    assert ads_manager_url("ad", adv, "20").startswith("https://ads.tiktok.com/i18n/perf/creative?")
    assert ads_manager_url("advertiser", adv, adv) == f"https://ads.tiktok.com/i18n/dashboard?aadvid={adv}"
    assert ads_manager_url("ad", adv, "1>|<x y").endswith("keyword=1%3E%7C%3Cx+y")


def test_notifications_are_one_row_per_distinct_channel_with_a_key() -> None:
    single = alert()
    rows = notifications(single, ["slack", "email:ops@example.com", "slack"])
    assert [r.channel for r in rows] == ["slack", "email:ops@example.com"]
    assert {r.key for r in rows} == {"overspend-no-conversions/campaign/1800000000000000001"}
    assert all(r.advertiser_id == ACME.id and from_json(r.payload) == single for r in rows)
    group = alert(entity("1"), entity("2"), more_count=3, kind=AlertKind.REPEAT)
    assert notifications(group, ["slack"])[0].key == f"overspend-no-conversions/{ACME.id}/repeat"
    ops = OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "bad", NOW, NOW)
    (row,) = notifications(ops, ["slack"])
    assert (row.key, row.advertiser_id) == ("_ops/rules_reload_failed/rules", None)
