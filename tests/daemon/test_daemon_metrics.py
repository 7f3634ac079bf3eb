"""Metrics: record through the small methods, read them back over HTTP from /metrics like Prometheus would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from polling import Outcomes
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.clock import FrozenClock
from monitor.health import HealthServer, HealthState
from monitor.metrics import Metrics


@pytest.fixture
async def metrics_url(clock: FrozenClock) -> AsyncIterator[tuple[Metrics, str]]:
    metrics = Metrics()
    state = HealthState(clock=clock, interval=timedelta(minutes=5))
    async with HealthServer(state, metrics.registry, port=0) as server:
        yield metrics, server.url + "/metrics"


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with http.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def test_recorded_values_are_served(metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession) -> None:
    metrics, url = metrics_url
    outcome = Outcomes()
    metrics.poll_done(outcome("7000000000000000001", True, 0.3, None))
    metrics.poll_done(outcome("7000000000000000001", False, 2.0, "TransientApiError: busy"))
    metrics.poll_done(outcome("7000000000000000002", True, 12.0, None))
    metrics.poll_skipped("7000000000000000002", "previous poll still running")
    metrics.api_call("campaign/get/")
    metrics.api_call("campaign/get/")
    metrics.api_call("report/integrated/get/", "RateLimitedError")
    metrics.throttled("app")
    metrics.finding("overspend-no-conversions", "critical")
    metrics.finding("overspend-no-conversions", "critical", 4)  # four entities matched in one poll
    metrics.action("pause", "applied")
    metrics.action("pause", "dry_run")
    metrics.notification("slack", "sent")
    metrics.notification("email", "failed")
    metrics.set_outbox_pending(3)

    values = await scrape(http, url)
    ns = "tiktok_monitor_"
    assert values[key(ns + "polls_total", result="ok")] == 2
    assert values[key(ns + "polls_total", result="error")] == 1
    assert values[key(ns + "polls_total", result="skipped")] == 1
    assert values[key(ns + "poll_duration_seconds_count")] == 3
    assert values[key(ns + "poll_duration_seconds_sum")] == pytest.approx(14.3)
    assert values[key(ns + "poll_duration_seconds_bucket", le="0.5")] == 1
    assert values[key(ns + "poll_duration_seconds_bucket", le="+Inf")] == 3
    assert values[key(ns + "advertiser_consecutive_failures", advertiser_id="7000000000000000001")] == 1
    assert values[key(ns + "advertiser_consecutive_failures", advertiser_id="7000000000000000002")] == 0
    assert values[key(ns + "advertiser_last_success_timestamp_seconds", advertiser_id="7000000000000000002")] > 1e9
    assert values[key(ns + "api_calls_total", endpoint="campaign/get/", result="ok")] == 2
    assert values[key(ns + "api_calls_total", endpoint="report/integrated/get/", result="RateLimitedError")] == 1
    assert values[key(ns + "api_throttles_total", scope="app")] == 1
    assert values[key(ns + "findings_total", rule="overspend-no-conversions", severity="critical")] == 5
    assert values[key(ns + "actions_total", type="pause", outcome="applied")] == 1
    assert values[key(ns + "actions_total", type="pause", outcome="dry_run")] == 1
    assert values[key(ns + "notifications_total", channel="slack", result="sent")] == 1
    assert values[key(ns + "notifications_total", channel="email", result="failed")] == 1
    assert values[key(ns + "outbox_pending")] == 3
    assert values[key(ns + "build_info", version=__version__)] == 1
    assert values[key("process_resident_memory_bytes")] > 0  # the process collector, in the same registry


async def test_poll_results_exist_at_zero_before_the_first_poll(
    metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession
) -> None:
    _, url = metrics_url
    values = await scrape(http, url)
    assert [values[key("tiktok_monitor_polls_total", result=r)] for r in ("ok", "error", "skipped")] == [0, 0, 0]


async def test_advertisers_no_longer_polled_lose_their_series(
    metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession
) -> None:
    metrics, url = metrics_url
    outcome = Outcomes()
    metrics.poll_done(outcome("1", True, 0.1, None))
    metrics.poll_done(outcome("2", False, 0.1, "boom"))
    metrics.set_advertisers(["1", "3"])
    values = await scrape(http, url)
    advertisers = {
        dict(labels).get("advertiser_id") for name, labels in values if name.startswith("tiktok_monitor_adv")
    }
    assert advertisers == {"1"}


async def test_openmetrics_is_negotiated(metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession) -> None:
    _, url = metrics_url
    async with http.get(url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await response.text()).endswith("# EOF\n")


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # would raise "Duplicated timeseries" on a shared registry
    first.api_call("campaign/get/")
    assert first.registry is not second.registry
    assert (
        second.registry.get_sample_value(
            "tiktok_monitor_api_calls_total", {"endpoint": "campaign/get/", "result": "ok"}
        )
        is None
    )
    assert REGISTRY.get_sample_value("tiktok_monitor_build_info", {"version": __version__}) is None
