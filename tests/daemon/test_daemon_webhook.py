"""REPORT_DATA_CHANGE end to end over real HTTP: ``run`` subscribes at start (once: a restart reuses the app's
subscription), the sandbox POSTs a notice when an advertiser's spend changes, the receiver on the health listener
answers 200 and the advertiser is polled long before its scheduled poll; a notice delivered twice polls once; a
body that is not a notice is refused with 400 and logged, and the daemon goes on."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.phases import next_poll_at
from monitor.polls import PollOutcome, PollResult
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id

ADV = extra_advertiser_id(0)  # one campaign, ad group and ad
HOOK = "/tiktok/report-data-change"
SECRET = "sandbox-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def long_interval(within: timedelta = timedelta(minutes=5)) -> str:
    """An interval whose next scheduled poll of ADV is more than ``within`` away: no scheduled poll in the test."""
    now = datetime.now(UTC)
    for hours in range(24, 1, -1):
        if next_poll_at(ADV, timedelta(hours=hours), now) - now > within:
            return f"{hours}h"
    raise AssertionError("no interval keeps the scheduled poll away")


def write_config(tmp_path: Path, base_url: str, port: int) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.toml").write_text(
        '[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 100"\nnotify = ["webhook"]\n'
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'app_id = "4242424242"\nsecret = "{SECRET}"\n'
        f"[tiktok.subscription]\nenabled = true\n"
        f'callback_url = "http://127.0.0.1:{port}{HOOK}"\nnotify_frequency = "5_MINUTE"\n'
        f'[monitor]\ninterval = "{long_interval()}"\nmin_poll_gap = "1s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[health]\nlisten = "127.0.0.1:{port}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:9/never-reached"\n'
    )
    return config


@pytest.fixture
async def quiet_sandbox():
    """A sandbox on the real clock whose one advertiser spends nothing unless told (its campaign is paused):
    only injected spend changes its values."""
    sandbox = Sandbox(
        SandboxSettings(extra_advertisers=1, webhook_window=0.5, webhook_backoff=0.2), clock=SystemClock()
    )
    campaign = sandbox.world.advertisers[ADV].campaigns[0]
    sandbox.world.set_status(campaign, "DISABLE", sandbox.now())
    async with sandbox.serve("127.0.0.1", 0):
        yield sandbox


async def wait_for(predicate, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - waiting for another task's side effect
            await asyncio.sleep(0.05)


async def test_a_spend_change_notified_by_tiktok_polls_the_advertiser_at_once(
    tmp_path: Path, quiet_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    settings = load_settings(write_config(tmp_path, quiet_sandbox.base_url, port))
    polls: list[PollOutcome] = []
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(settings, stop=stop, on_poll_done=[polls.append]))
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for(lambda: bool(quiet_sandbox.subscriptions.items))
        [sub] = quiet_sandbox.subscriptions.items.values()
        assert sub.callback_url == base + HOOK and sub.advertiser_ids == (ADV,)
        await asyncio.sleep(1.5)  # three windows: nothing changed, nothing notified, nothing polled
        assert polls == [] and quiet_sandbox.subscriptions.deliveries == []

        ad = quiet_sandbox.world.advertisers[ADV].campaigns[0].adgroups[0].ads[0]
        quiet_sandbox.world.add_surge(ad, 500.0, quiet_sandbox.now())
        await wait_for(lambda: len(polls) == 1)
        assert polls[0].result is PollResult.OK
        assert polls[0].summary is not None and polls[0].summary.transitions == (
            f"firing overspend campaign {ad.adgroup.campaign.campaign_id}",
        )
        [delivery] = quiet_sandbox.subscriptions.deliveries
        assert delivery.status == 200

        async with aiohttp.ClientSession() as http:
            # the same notice again (at-least-once delivery): answered 200, no poll
            body = {"object": 11, "time": 1, "entry": [{"changed_metrics_values": {ADV: {"spend": "1.00"}}}]}
            for _ in range(2):
                async with http.post(base + HOOK, data=json.dumps(body)) as response:
                    assert response.status == 200
            await wait_for(lambda: len(polls) == 2)  # the first of the two (after the 1 s gap)
            for bad in (
                b"not json",
                b"[]",
                json.dumps({"object": 11, "entry": [{"changed_metrics_values": {"x": {}}}]}).encode(),
            ):
                async with http.post(base + HOOK, data=bad) as response:
                    assert response.status == 400
            async with http.get(base + "/healthz") as response:
                assert response.status == 200  # still serving
            async with http.get(base + "/metrics") as response:
                metrics = await response.text()
        await asyncio.sleep(1.5)
        assert len(polls) == 2
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
    assert 'tiktok_monitor_webhook_notices_total{result="duplicate"} 1.0' in metrics
    assert 'tiktok_monitor_webhook_notices_total{result="refused"} 3.0' in metrics
    assert 'tiktok_monitor_extra_polls_total{reason="webhook"} 2.0' in metrics
    refused = [r for r in caplog.records if "refused a request to the REPORT_DATA_CHANGE receiver" in r.getMessage()]
    assert refused and refused[0].levelno == logging.WARNING
    assert not any(SECRET in r.getMessage() or "sandbox-token" in r.getMessage() for r in caplog.records)

    # a restart reuses the app's subscription for the same callback: still one
    stop = asyncio.Event()
    again = asyncio.create_task(run_daemon(settings, stop=stop))
    try:
        await wait_for(lambda: any("covers the advertisers already" in r.getMessage() for r in caplog.records))
    finally:
        stop.set()
        assert await asyncio.wait_for(again, 30) == 0
    assert len(quiet_sandbox.subscriptions.items) == 1
