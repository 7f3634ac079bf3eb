"""An advertiser the daemon stopped watching on purpose (its token was revoked) is *paused*, never healthy:
``/healthz`` shows it paused with the reason and since when and degrades, ``/metrics`` counts
``polls_total{result="paused"}``, ``once`` exits 1; a failed discovery is told and is a 503 when nothing is known;
"told once" survives restarts; SIGHUP re-checks a paused advertiser at once."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.once import run_once
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.store.repo import Store

REVOKED = "7000000000000000001"  # polled with the sandbox's configured token, which the test revokes
KEPT = "7000000000000000002"  # polled with a second token the revocation does not touch
APP_ID = "4242"  # discovery needs the app's id (digits)


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
        f'[webhook]\nurl = "http://127.0.0.1:9/never-reached"\n'  # messages stay in the outbox, to be read
    )
    return config


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(app_id=APP_ID), clock=SystemClock())  # the daemon runs on the real clock
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
    assert body["advertisers"][REVOKED]["since"] is not None
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


def write_discovery_config(tmp_path: Path, base_url: str, port: int) -> Path:
    """A config whose only token account discovers its advertisers (advertiser_ids = [])."""
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.toml").write_text('[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = []\n'
        f'app_id = "{APP_ID}"\nsecret = "{SandboxSettings().secret}"\n'
        f'[monitor]\ninterval = "1s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:9/never-reached"\n'
    )
    return config


async def ops_told(settings) -> list[tuple[str, str, bool]]:
    store = await Store.open(settings.storage.url)
    try:
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=3650))
    finally:
        await store.close()
    return [
        (r.payload["kind"], r.payload["subject"], r.payload["recovered"]) for r in rows if r.payload["type"] == "ops"
    ]


async def test_a_failed_discovery_is_told_once_and_makes_once_exit_1(tmp_path: Path, live_sandbox: Sandbox) -> None:
    live_sandbox.revoke_token()
    settings = load_settings(write_discovery_config(tmp_path, live_sandbox.base_url, 0))
    for _ in range(2):
        out = io.StringIO()
        assert await run_once(settings, out=out) == 1
        assert "discovery FAILED for token account 'default': " in out.getvalue()
        assert "40105" in out.getvalue()
    assert await ops_told(settings) == [("discovery_failed", "discovery:default", False)]  # told once, not per run
    live_sandbox.restore_token()
    assert await run_once(settings, out=io.StringIO()) == 0
    assert (await ops_told(settings))[-1] == ("discovery_failed", "discovery:default", True)  # and its recovery


async def test_a_failed_discovery_with_nothing_known_is_503_at_once(tmp_path: Path, live_sandbox: Sandbox) -> None:
    live_sandbox.revoke_token()
    port = free_port()
    settings = load_settings(write_discovery_config(tmp_path, live_sandbox.base_url, port))
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(settings, stop=stop))
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while True:
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                            body = await response.json()
                            if body["discovery_error"]:
                                status = response.status
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.2)
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
    assert status == 503  # within the start-up grace period: nothing is watched, and it is said at once
    assert body["status"] == "failing"
    assert body["reason"].startswith("nothing is watched: DiscoveryError: discovery failed: token account 'default'")


async def test_a_revoked_token_is_told_once_across_three_restarts(tmp_path: Path, live_sandbox: Sandbox) -> None:
    settings = load_settings(write_config(tmp_path, live_sandbox.base_url, live_sandbox.issue_token([KEPT]), 0))
    assert await run_once(settings, out=io.StringIO()) == 0
    live_sandbox.revoke_token()
    for _ in range(3):
        assert await run_once(settings, out=io.StringIO()) == 1
    assert await ops_told(settings) == [("token_revoked", REVOKED, False)]
    live_sandbox.restore_token()
    assert await run_once(settings, out=io.StringIO()) == 0
    assert await ops_told(settings) == [("token_revoked", REVOKED, False), ("token_revoked", REVOKED, True)]


async def test_sighup_rechecks_a_paused_advertiser_at_once(tmp_path: Path, live_sandbox: Sandbox) -> None:
    port = free_port()
    settings = load_settings(write_config(tmp_path, live_sandbox.base_url, live_sandbox.issue_token([KEPT]), port))
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(settings, stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def status_of(advertiser_id: str) -> str | None:
                try:
                    async with http.get(base + "/healthz") as response:
                        return (await response.json())["advertisers"].get(advertiser_id, {}).get("status")
                except aiohttp.ClientConnectionError:
                    return None

            async def wait_for(wanted: str, within: float = 20.0) -> None:
                async with asyncio.timeout(within):
                    while await status_of(REVOKED) != wanted:  # noqa: ASYNC110 - polling an HTTP endpoint
                        await asyncio.sleep(0.1)

            await wait_for("ok")
            live_sandbox.revoke_token()
            await wait_for("paused")  # the next try is a minute away
            live_sandbox.restore_token()
            os.kill(os.getpid(), signal.SIGHUP)  # someone fixed the token: try now
            await wait_for("ok", within=10.0)  # long before the minute of back-off
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
