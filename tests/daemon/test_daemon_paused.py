"""An advertiser the daemon stopped watching on purpose (its token was revoked) is *paused*, never healthy:
``/healthz`` shows it paused with the reason and degrades, ``/metrics`` counts ``polls_total{result="paused"}``,
and ``once`` exits 1."""

from __future__ import annotations

import asyncio
import io
import socket
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.once import run_once
from monitor.sandbox import Sandbox, SandboxSettings

REVOKED = "7000000000000000001"  # polled with the sandbox's configured token, which the test revokes
KEPT = "7000000000000000002"  # polled with a second token the revocation does not touch


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(tmp_path: Path, base_url: str, second_token: str, port: int) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.toml").write_text('[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\n'
        f'[[tiktok.accounts]]\nname = "main"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{REVOKED}"]\n'
        f'[[tiktok.accounts]]\nname = "other"\naccess_token = "{second_token}"\nadvertiser_ids = ["{KEPT}"]\n'
        f'[monitor]\ninterval = "1s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    )
    return config


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(), clock=SystemClock())  # the daemon runs on the real clock
    async with sandbox.serve("127.0.0.1", 0):
        yield sandbox


async def test_a_revoked_token_shows_as_paused_in_healthz_and_metrics(tmp_path: Path, live_sandbox: Sandbox) -> None:
    port = free_port()
    settings = load_settings(write_config(tmp_path, live_sandbox.base_url, live_sandbox.issue_token([KEPT]), port))
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(settings, stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def healthz() -> dict:
                try:
                    async with http.get(base + "/healthz") as response:
                        return await response.json()
                except aiohttp.ClientConnectionError:
                    return {}  # not listening yet

            async def wait_for(predicate, within: float = 20.0) -> dict:
                async with asyncio.timeout(within):
                    while not predicate(body := await healthz()):  # noqa: ASYNC110 - polling an HTTP endpoint
                        await asyncio.sleep(0.2)
                return body

            await wait_for(lambda b: b.get("advertisers", {}).get(REVOKED, {}).get("status") == "ok")
            live_sandbox.revoke_token()
            body = await wait_for(lambda b: b["advertisers"][REVOKED]["status"] == "paused")
            async with http.get(base + "/metrics") as response:
                metrics = await response.text()
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0

    assert body["status"] == "degraded"
    assert body["reason"] == "1 of 2 advertisers failing, stale or paused"
    assert "re-authorize" in body["advertisers"][REVOKED]["paused"]
    assert body["advertisers"][KEPT]["status"] == "ok"
    paused = [line for line in metrics.splitlines() if line.startswith('tiktok_monitor_polls_total{result="paused"}')]
    assert paused and float(paused[0].split()[-1]) >= 1


async def test_once_exits_1_when_an_advertiser_could_not_be_watched(tmp_path: Path, live_sandbox: Sandbox) -> None:
    settings = load_settings(write_config(tmp_path, live_sandbox.base_url, live_sandbox.issue_token([KEPT]), 0))
    assert await run_once(settings, out=io.StringIO()) == 0
    live_sandbox.revoke_token()
    out = io.StringIO()
    assert await run_once(settings, out=out) == 1
    assert f"{REVOKED:<22} FAILED: " in out.getvalue()
    assert "2 advertiser(s), 1 failed" in out.getvalue()


async def test_once_exits_1_when_an_account_is_paused(tmp_path: Path, live_sandbox: Sandbox) -> None:
    live_sandbox.set_advertiser_status(KEPT, "STATUS_LIMIT")  # advertiser/info says the account is limited
    settings = load_settings(write_config(tmp_path, live_sandbox.base_url, live_sandbox.issue_token([KEPT]), 0))
    out = io.StringIO()
    assert await run_once(settings, out=out) == 1
    assert f"{KEPT:<22} PAUSED: account status STATUS_LIMIT" in out.getvalue()
