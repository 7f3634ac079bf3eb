"""The daemon's parts wired the way the composition root wires them: scheduler -> health + metrics -> HTTP,
with readiness and watchdog pings to a fake systemd. Real time, real sockets, short intervals."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from polling import Outcomes
from prometheus_client.parser import text_string_to_metric_families

from monitor.clock import SystemClock
from monitor.health import HealthServer, HealthState
from monitor.metrics import Metrics
from monitor.polls import PollOutcome
from monitor.scheduler import Scheduler
from monitor.sdnotify import SystemdNotifier, watchdog_loop

INTERVAL = timedelta(seconds=0.3)


async def test_polls_show_up_in_healthz_metrics_and_watchdog(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    path = str(tmp_path / "notify.sock")
    if len(path) >= 100:
        pytest.skip(f"tmp_path too long for an AF_UNIX socket path: {path}")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(path)
    systemd.setblocking(False)
    received: list[str] = []

    async def listen() -> None:  # like systemd: read each datagram as it arrives
        loop = asyncio.get_running_loop()
        while True:
            received.append((await loop.sock_recv(systemd, 4096)).decode())

    listener = asyncio.create_task(listen())

    outcome = Outcomes()  # as the per-advertiser boundary reports polls, with its failure streak

    async def poll(advertiser_id: str) -> PollOutcome:
        if advertiser_id == "7000000000000000002":
            return outcome(advertiser_id, False, 0.01, "RuntimeError: token revoked")
        return outcome(advertiser_id, True, 0.01)

    clock = SystemClock()
    metrics = Metrics()
    health = HealthState(clock=clock, interval=INTERVAL)
    scheduler = Scheduler(
        poll=poll,
        interval=INTERVAL,
        advertiser_ids=["7000000000000000001", "7000000000000000002"],
        on_poll_done=[health.poll_done, metrics.poll_done],
        on_poll_skipped=[metrics.poll_skipped],
        on_advertisers=[health.set_advertisers, metrics.set_advertisers],
        clock=clock,
    )
    notifier = SystemdNotifier(path)
    async with HealthServer(health, metrics.registry, port=0) as server:
        scheduler.start()
        notifier.ready("polling 2 advertisers")
        watchdog = asyncio.create_task(watchdog_loop(notifier, lambda: scheduler.running, interval=0.1))
        try:
            await asyncio.sleep(4 * INTERVAL.total_seconds())
            async with http.get(server.url + "/healthz") as response:
                assert response.status == 200
                body = await response.json()
            async with http.get(server.url + "/metrics") as response:
                text = await response.text()
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
            notifier.stopping()
            await scheduler.shutdown(wait_seconds=1)
            notifier.close()

    assert body["status"] == "degraded"
    assert body["advertisers"]["7000000000000000001"]["status"] == "ok"
    bad = body["advertisers"]["7000000000000000002"]
    assert bad["status"] == "failing"
    assert bad["last_error"] == "RuntimeError: token revoked"
    assert bad["consecutive_failures"] >= 2

    polls = {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tiktok_monitor_polls"
        for sample in family.samples
        if sample.name == "tiktok_monitor_polls_total"
    }
    assert polls["ok"] >= 2 and polls["failed"] >= 2

    await asyncio.sleep(0.05)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    systemd.close()
    assert received[0] == "READY=1\nSTATUS=polling 2 advertisers"
    assert received.count("WATCHDOG=1") >= 5
    assert received[-1] == "STOPPING=1"
