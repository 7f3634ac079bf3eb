"""The circuit breaker in the running daemon (the issue's measurement: twelve advertisers, one overspending campaign
each, ``max_writes = 10``; ``run`` used to pause all twelve and tell nobody): at most ten writes, one message naming
the held-back campaigns, ``/healthz`` and ``/metrics`` showing it open, and writes again only after
``tiktok-monitor actions resume`` (the command line, as a user runs it)."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from commands import cli

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.store.repo import Store

ADVERTISERS = [extra_advertiser_id(i) for i in range(12)]
STATUS_WRITES = "campaign/status/update/"


def pause_rule(name: str) -> str:
    return (
        f'[[rule]]\nname = "{name}"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\naction = "pause"\n'
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(qps=1000, extra_advertisers=12), clock=SystemClock())  # the daemon's clock
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


async def breaker_messages(url: str) -> list[dict[str, Any]]:
    store = await Store.open(url)
    try:
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=3650), limit=1000)
    finally:
        await store.close()
    return [r.payload for r in rows if r.payload["type"] == "ops" and r.payload["subject"] == "circuit-breaker"]


async def test_run_stops_at_max_writes_tells_once_and_writes_again_after_actions_resume(
    tmp_path: Path, live_sandbox: Sandbox
) -> None:
    port = free_port()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(pause_rule("stop-spending"))
    ids = ", ".join(f'"{a}"' for a in ADVERTISERS)
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{ids}]\n'
        f'max_qps = 1000\n[monitor]\ninterval = "2s"\nrules = "rules"\n[storage]\nurl = "{url}"\n'
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:9/never-reached"\n[notify]\ninterval = "1s"\nretry_first = "1h"\n'
        f'[actions]\nmax_writes = 10\nwindow = "1m"\n'
    )
    settings = load_settings(config)
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(settings, stop=stop))
    base = f"http://127.0.0.1:{port}"

    def written() -> list[str]:
        return [a.advertiser_id for a in live_sandbox.arrivals if a.path == STATUS_WRITES]

    async def until(predicate, within: float = 30.0) -> None:
        async with asyncio.timeout(within):
            while not await predicate():  # noqa: ASYNC110 - polling an HTTP endpoint and the sandbox
                await asyncio.sleep(0.2)

    try:
        async with aiohttp.ClientSession() as http:

            async def breaker() -> dict[str, Any] | None:
                try:
                    async with http.get(base + "/healthz") as response:
                        return (await response.json()).get("breaker")
                except aiohttp.ClientConnectionError:
                    return None  # not listening yet

            async def opened() -> bool:
                return ((await breaker()) or {}).get("state") == "open"

            async def told() -> bool:
                return bool(await breaker_messages(url))

            await until(opened)
            await until(told)
            await asyncio.sleep(3)  # more polls and outbox runs: nothing more is written, nobody is told again
            assert len(written()) == 10 and len(set(written())) == 10
            [message] = await breaker_messages(url)
            assert "more than max_writes = 10" in message["detail"]
            for advertiser_id in sorted(set(ADVERTISERS) - set(written())):
                assert f"of advertiser {advertiser_id} (rule stop-spending)" in message["detail"]
            state = await breaker()
            assert state["state"] == "open" and state["writes_in_window"] == 10 and state["since"]
            async with http.get(base + "/metrics") as response:
                metrics = await response.text()
            assert "tiktok_monitor_circuit_breaker_open 1.0" in metrics
            assert "tiktok_monitor_circuit_breaker_writes 10.0" in metrics

            code, out, err = await cli("actions", "status", "--config", str(config))
            assert code == 0, err
            assert out.startswith("circuit breaker: OPEN since ") and "held back: " in out
            code, out, err = await cli("actions", "resume", "--config", str(config), "--by", "alice")
            assert code == 0, err
            assert out.startswith("circuit breaker closed by alice at ")

            async def closed() -> bool:
                return ((await breaker()) or {}).get("state") == "closed"

            await until(closed)
            (tmp_path / "rules" / "a.toml").write_text(pause_rule("stop-spending-again"))  # reloaded on change

            async def all_paused() -> bool:
                return len(written()) == 12

            await until(all_paused)
            assert set(written()) == set(ADVERTISERS)
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
    assert len(await breaker_messages(url)) == 1
    code, out, _ = await cli("actions", "resume", "--config", str(config))
    assert (code, out) == (0, "the circuit breaker is not open: nothing to resume\n")
