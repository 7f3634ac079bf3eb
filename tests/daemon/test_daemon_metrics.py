"""Metrics: record through the small methods, read them back over HTTP from /metrics like Prometheus would."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from polling import Outcomes
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.clock import FrozenClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.domain import OpsKind
from monitor.health import HealthServer, HealthState
from monitor.metrics import Metrics
from monitor.notify.errors import TransientDeliveryError
from monitor.notify.message import Message, OperationalMessage, notifications
from monitor.polls import PollOutcome, PollResult, PollSummary
from monitor.sandbox import Sandbox
from monitor.store.repo import Store
from monitor.store.shards import Assignment, shard_of


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
    assert values[key(ns + "polls_total", result="failed")] == 1
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
    assert [values[key("tiktok_monitor_polls_total", result=r)] for r in ("ok", "failed", "skipped")] == [0, 0, 0]


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


async def test_owned_shards_and_advertisers_and_polls_of_other_replicas_not_counted(
    metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession
) -> None:
    metrics, url = metrics_url
    outcome = Outcomes()
    metrics.set_advertisers(["1", "2", "3"])
    owners = {shard_of("1"): ("me", 2), shard_of("2"): ("me", 5), shard_of("3"): ("other", 1)}
    metrics.set_assignment(Assignment("me", ("me", "other"), owners))
    metrics.poll_done(outcome("3", False, 0.1, "boom"))  # failing while it was ours
    metrics.poll_done(PollOutcome("3", PollResult.NOT_MINE, reason="polled by replica other"))
    values = await scrape(http, url)
    assert values[key("tiktok_monitor_replica_owned_shards")] == len({shard_of("1"), shard_of("2")})
    assert values[key("tiktok_monitor_replica_owned_advertisers")] == 2
    assert values[key("tiktok_monitor_replicas_alive")] == 2
    assert values[key("tiktok_monitor_polls_total", result="failed")] == 1  # the not_mine poll is not counted
    assert values[key("tiktok_monitor_unwatched_advertisers", state="failing")] == 0  # another replica's now
    assert key("tiktok_monitor_advertiser_consecutive_failures", advertiser_id="3") not in values


def firing(advertiser_id: str, counts: dict[tuple[str, str], int]) -> PollOutcome:
    """An ok poll whose advertiser has ``counts`` firing alerts by (rule, severity) after it."""
    return PollOutcome(advertiser_id, PollResult.OK, summary=PollSummary(advertiser_id, firing_by_rule=counts))


async def test_firing_alerts_per_rule_and_severity_summed_over_advertisers_and_reset_to_zero(
    metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession
) -> None:
    metrics, url = metrics_url
    name = "tiktok_monitor_firing_alerts"
    metrics.poll_done(firing("1", {("overspend", "critical"): 2, ("low-ctr", "warning"): 1}))
    metrics.poll_done(firing("2", {("overspend", "critical"): 3, ("low-ctr", "warning"): 0}))
    values = await scrape(http, url)
    assert values[key(name, rule="overspend", severity="critical")] == 5
    assert values[key(name, rule="low-ctr", severity="warning")] == 1

    metrics.poll_done(firing("1", {("overspend", "critical"): 0}))  # resolved; low-ctr left the rule files
    metrics.poll_done(PollOutcome("2", PollResult.FAILED, reason="boom"))  # what 2 had fires still
    values = await scrape(http, url)
    assert values[key(name, rule="overspend", severity="critical")] == 3
    assert values[key(name, rule="low-ctr", severity="warning")] == 0  # reset, not left at 1

    metrics.poll_done(PollOutcome("2", PollResult.NOT_MINE, reason="polled by replica other"))
    assert (await scrape(http, url))[key(name, rule="overspend", severity="critical")] == 0  # the other's now


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


# --- the daemon keeps outbox_pending up to date -------------------------------------------------------------------


class Gate:
    """A webhook channel that refuses every message (a transient error) until it is opened."""

    def __init__(self) -> None:
        self.open = False
        self.delivered: list[str | None] = []

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        if not self.open:
            raise TransientDeliveryError("the receiver is down", code="down")
        self.delivered.append(delivery_id)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def outbox_pending(http: aiohttp.ClientSession, url: str, wanted: float, within: float = 10.0) -> float:
    """Scrape ``url`` until ``outbox_pending`` is ``wanted`` (or ``within`` seconds passed); the last value read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        with contextlib.suppress(aiohttp.ClientConnectionError):  # the server is not listening yet
            value = (await scrape(http, url)).get(key("tiktok_monitor_outbox_pending"), -1.0)
            if value == wanted or loop.time() > deadline:
                return value
        if loop.time() > deadline:
            return -1.0
        await asyncio.sleep(0.1)


async def test_the_daemon_serves_the_pending_outbox_count_notifications_per_channel_and_firing_alerts(
    tmp_path: Path, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    database = tmp_path / "monitor.db"
    store = await Store.open(f"sqlite:///{database}")
    try:  # three messages a previous run could not deliver
        now = datetime.now(UTC)
        for n in range(3):
            message = OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", f"problem {n}", now, now)
            await store.outbox.enqueue(notifications(message, ["webhook"]), now)
    finally:
        await store.close()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(
        '[[rule]]\nname = "never"\nlevel = "campaign"\nwhen = "spend < 0"\nnotify = ["webhook"]\n'
        '[[rule]]\nname = "budgeted"\nlevel = "campaign"\nseverity = "info"\nwhen = "budget > 0"\n'
    )
    port = free_port()
    (tmp_path / "config.toml").write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\n'  # type: ignore[attr-defined]
        'advertiser_ids = ["7000000000000000001"]\n'
        f'[monitor]\ninterval = "2s"\nrules = "rules"\n[storage]\nurl = "sqlite:///{database}"\n'
        '[webhook]\nurl = "http://127.0.0.1:9/unused"\n'
        '[notify]\ninterval = "1s"\nretry_first = "1s"\nretry_max = "1s"\n'
        f'[health]\nlisten = "127.0.0.1:{port}"\n'
    )
    settings = load_settings(tmp_path / "config.toml")
    gate, stop = Gate(), asyncio.Event()
    thresholds = gc.get_threshold()
    daemon = asyncio.create_task(run_daemon(settings, channels={"webhook": gate}, stop=stop))
    url, ns = f"http://127.0.0.1:{port}/metrics", "tiktok_monitor_"
    try:
        assert await outbox_pending(http, url, 3) == 3  # tried, refused, still waiting
        gate.open = True
        assert await outbox_pending(http, url, 0) == 0  # delivered at the next attempt
        assert len(gate.delivered) == 3
        values = await scrape(http, url)
        notified = {dict(labels)["channel"] for name, labels in values if name == ns + "notifications_total"}
        assert notified == {"webhook"}  # per channel, never channel="any"
        assert values[key(ns + "notifications_total", channel="webhook", result="sent")] == 3
        assert values[key(ns + "notifications_total", channel="webhook", result="failed")] >= 3
        # "budgeted" fires from the first poll on for campaigns 1 and 3 (2 has none: sandbox/builder.py)
        firing = key(ns + "firing_alerts", rule="budgeted", severity="info")
        for _ in range(100):
            values = await scrape(http, url)
            if firing in values:
                break
            await asyncio.sleep(0.1)
        assert values[firing] == 2
        assert values[key(ns + "firing_alerts", rule="never", severity="warning")] == 0
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
        left = gc.get_threshold()
        gc.set_threshold(*thresholds)
    # the collector is tuned once per process by the command (monitor.gctune); run_daemon used to set its own
    # older thresholds over that tuning: a middle collection every 10 young ones instead of 100
    assert left == thresholds
