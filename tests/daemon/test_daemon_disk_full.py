"""A full database, for real: `tiktok-monitor run` (a subprocess) on a SQLite file capped by ``[storage] max_size``
(SQLite's ``max_page_count``: SQLITE_FULL from SQLite itself) fills up. ``/healthz`` degrades with the reason,
``/metrics`` shows ``database_full 1`` and the database's bytes, one ``storage_full`` message reaches the ops
channel (a webhook on loopback); when space returns (old rows deleted by someone else) polling resumes by itself
and the recovery is told; what was stored before is intact. ``once`` on a full database exits 1 with the reason."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.once import run_once
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import LARGE_ADVERTISER_ID

ADV = "7000000000000000001"  # polled before the database is capped: its history must stay intact
BIG = LARGE_ADVERTISER_ID  # first polled on the capped database: its hundreds of ads do not fit
#: Rows taking room in the database until the test deletes them ("old data"): space that returns.
BALLAST_ROWS = 200


class Receiver:
    """A webhook endpoint that keeps every operational message it gets."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, bool]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("type") == "ops":
            self.ops.append((body["kind"], body["recovered"]))
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver():
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[attr-defined]
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(
        SandboxSettings(large_ads=300), clock=SystemClock()
    )  # real time: the daemon runs on the real clock
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(tmp_path: Path, base_url: str, hook: str, *, port: int = 0, max_size: int | None = None) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "r.toml").write_text('[[rule]]\nname = "spending"\nlevel = "ad"\nwhen = "spend > 0"\n')
    cap = "" if max_size is None else f"max_size = {max_size}\n"
    advertisers = f'"{ADV}"' if max_size is None else f'"{ADV}", "{BIG}"'
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{advertisers}]\n'
        f'[monitor]\ninterval = "1s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\nmin_free = "1MB"\n{cap}'
        f'[notify]\ninterval = "1s"\n'
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
        f'[webhook]\nurl = "{hook}"\n'
    )
    return config


def fill(database: Path) -> tuple[int, list[tuple]]:
    """Room taken by other rows, then a file with no free page: its size, and the stored snapshots to compare."""
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE ballast (filler BLOB)")
        conn.executemany("INSERT INTO ballast VALUES (?)", [(b"x" * 3000,) for _ in range(BALLAST_ROWS)])
    with sqlite3.connect(database) as conn:
        conn.execute("VACUUM")  # no free page left: the next page a write needs is beyond the cap
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
        stored = conn.execute("SELECT * FROM history_metrics ORDER BY 1, 2, 3").fetchall()
    return pages, stored


async def test_once_on_a_full_database_exits_1_with_the_reason(tmp_path: Path, live_sandbox, receiver) -> None:
    config = write_config(tmp_path, live_sandbox.base_url, receiver.url)
    assert await run_once(load_settings(config), out=io.StringIO()) == 0
    size, stored = fill(tmp_path / "monitor.db")
    config = write_config(tmp_path, live_sandbox.base_url, receiver.url, max_size=size)
    out = io.StringIO()
    assert await run_once(load_settings(config), out=out) == 1
    assert f"{BIG:<22} FAILED: StoreFullError: database or disk is full" in out.getvalue()
    assert receiver.ops == [("storage_full", False)]  # told, straight to the ops channel: the outbox is full too
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT * FROM history_metrics ORDER BY 1, 2, 3").fetchall() == stored


async def test_run_on_a_database_that_fills_up_says_so_and_recovers_by_itself(
    tmp_path: Path, live_sandbox, receiver
) -> None:
    database = tmp_path / "monitor.db"
    assert await run_once(load_settings(write_config(tmp_path, live_sandbox.base_url, receiver.url))) == 0
    size, stored = fill(database)
    port = free_port()
    config = write_config(tmp_path, live_sandbox.base_url, receiver.url, port=port, max_size=size)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def get(path: str) -> str:
                try:
                    async with http.get(base + path) as response:
                        return await response.text()
                except aiohttp.ClientConnectionError:
                    return ""  # not listening yet

            async def wait_for(path: str, text: str, within: float = 30.0) -> str:
                async with asyncio.timeout(within):
                    while text not in (body := await get(path)):
                        assert process.returncode is None
                        await asyncio.sleep(0.2)
                return body

            full = await wait_for("/healthz", "database full since")
            metrics = await wait_for("/metrics", "tiktok_monitor_database_full 1.0")
            await asyncio.sleep(3)  # three more polls meet the full database: still one message
            assert receiver.ops == [("storage_full", False)]

            with sqlite3.connect(database, timeout=30) as conn:  # someone deletes old rows: space returns
                conn.execute("DROP TABLE ballast")
            await wait_for("/healthz", '"status": "ok"')
            await wait_for("/metrics", "tiktok_monitor_database_full 0.0")
            async with asyncio.timeout(10):
                while ("storage_full", True) not in receiver.ops:  # noqa: ASYNC110 - the outbox delivers it
                    await asyncio.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert '"status": "degraded"' in full and "polls are not stored" in full
    assert "database or disk is full" in full
    assert 'tiktok_monitor_database_bytes{backend="sqlite"}' in metrics
    assert 'tiktok_monitor_database_free_bytes{backend="sqlite"}' in metrics
    assert receiver.ops == [("storage_full", False), ("storage_full", True)]  # once, and its recovery
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        now = conn.execute("SELECT * FROM history_metrics ORDER BY 1, 2, 3").fetchall()
        big = conn.execute("SELECT count(*) FROM entities WHERE advertiser_id = ?", (BIG,)).fetchone()[0]
    assert set(stored) <= set(now)  # every row stored before is intact; later polls added rows (anywhere in the order)
    assert big >= 300  # stored once there was room
