"""A database whose write lock another connection keeps, for real: `tiktok-monitor run` (a subprocess) on a SQLite
file while this test holds ``BEGIN IMMEDIATE`` on it. Every write of the daemon then fails with "database is
locked" (after its 30 s busy timeout); ``/healthz`` says so once that has lasted two intervals, and says nothing
more of it once the lock is let go and a write goes through again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import aiohttp

ADV = "7000000000000000001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(tmp_path: Path, base_url: str, port: int) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "r.toml").write_text('[[rule]]\nname = "spending"\nlevel = "ad"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "1s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\nmin_free = "0"\n'
        f'[notify]\ninterval = "1s"\n'
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    )
    return config


async def test_run_says_when_every_write_fails_for_a_lock_and_recovers(tmp_path: Path, live_sandbox) -> None:
    port = free_port()
    config = write_config(tmp_path, live_sandbox.base_url, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    holder: sqlite3.Connection | None = None
    try:
        async with aiohttp.ClientSession() as http:

            async def health() -> dict:
                try:
                    async with http.get(base + "/healthz") as response:
                        return dict(json.loads(await response.text()))
                except (aiohttp.ClientConnectionError, json.JSONDecodeError):
                    return {}  # not listening yet

            async def wait_for(check, within: float) -> dict:
                async with asyncio.timeout(within):
                    while not check(body := await health()):
                        assert process.returncode is None
                        await asyncio.sleep(0.5)
                return body

            await wait_for(lambda b: b.get("status") == "ok", 60)
            holder = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None, check_same_thread=False)
            holder.execute("BEGIN IMMEDIATE")  # kept: every write of the daemon waits 30 s, then fails
            locked = await wait_for(lambda b: "database locked since" in (b.get("reason") or ""), 120)
            holder.execute("ROLLBACK")
            holder.close()
            holder = None
            recovered = await wait_for(lambda b: b.get("storage", {}).get("locked_since") is None, 90)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if holder is not None:
            holder.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert locked["status"] == "failing"  # nothing stored for longer than two intervals either
    assert "every write of this process fails (database is locked)" in locked["reason"]
    assert locked["storage"]["locked_since"] is not None
    assert recovered["storage"]["problem"] is None
