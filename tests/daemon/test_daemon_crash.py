"""Crash recovery, as issue 13 measured it: `tiktok-monitor run` killed with SIGKILL in the middle of its polls and
restarted at once polls every advertiser again within one interval (the dead process's leases are taken over at
once, instead of blocking the advertisers until they expire)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.clock import SystemClock
from monitor.sandbox import Fault, Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.store.db import reading
from monitor.store.models import LeaseRow
from monitor.store.repo import Store
from monitor.store.values import PollStatus

INTERVAL = timedelta(seconds=4)  # the poll deadline is at least 10 s: hung polls overlap
ADVERTISERS = [extra_advertiser_id(i) for i in range(6)]
STARTUP = 6.0  # seconds a fresh process may take to import, migrate and schedule (generous)
RULE = '[[rule]]\nname = "never"\nlevel = "campaign"\nwhen = "spend < 0"\n'


@pytest.fixture
async def live_sandbox() -> AsyncIterator[Sandbox]:
    # the daemon runs on the real clock, so does this sandbox
    sandbox = Sandbox(SandboxSettings(extra_advertisers=len(ADVERTISERS)), clock=SystemClock())
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url  # type: ignore[attr-defined]
        yield sandbox


async def start(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "--config", str(config),
            stdout=out, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip


async def leases(store: Store) -> dict[str, str]:
    async with reading(store.engine) as conn:
        rows = await conn.execute(sa.select(LeaseRow.__table__.c.advertiser_id, LeaseRow.__table__.c.owner))
        return {row.advertiser_id: row.owner for row in rows}


async def polled_ok_by(store: Store, advertiser_ids: list[str], owner: str) -> set[str]:
    done = set()
    for advertiser_id in advertiser_ids:
        runs = await store.polls(advertiser_id, limit=20)
        if any(r.owner == owner and r.status is PollStatus.OK for r in runs):
            done.add(advertiser_id)
    return done


async def test_a_killed_daemon_restarted_at_once_polls_every_advertiser_within_an_interval(
    tmp_path: Path, live_sandbox: Sandbox
) -> None:
    advertiser_ids = ADVERTISERS
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text(RULE)
    database = tmp_path / "monitor.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'  # type: ignore[attr-defined]
        f"advertiser_ids = {advertiser_ids!r}\n".replace("'", '"')
        + f'[monitor]\ninterval = "{INTERVAL.seconds}s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{database}"\n[health]\nenabled = false\n'
    )
    store = await Store.open(f"sqlite:///{database}")  # migrated before either process starts; read throughout
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = second = None
    try:
        # every poll hangs in its fetch: wait until all the advertisers are mid-poll, holding their leases
        live_sandbox.faults.add(Fault(kind="slow", delay=30.0, path="campaign/get/", count=1000))
        first = await start(config, first_log)
        first_owner = f"{socket.gethostname()}:{first.pid}"
        deadline = time.monotonic() + STARTUP + 3 * INTERVAL.total_seconds()
        while list((await leases(store)).values()).count(first_owner) < len(ADVERTISERS):
            assert time.monotonic() < deadline, f"never all mid-poll: {first_log.read_text()}"
            await asyncio.sleep(0.05)

        first.kill()  # SIGKILL mid-poll: the leases stay behind, naming a process that no longer exists
        await first.wait()
        live_sandbox.faults.clear()
        second = await start(config, second_log)
        second_owner = f"{socket.gethostname()}:{second.pid}"
        restarted = time.monotonic()

        # every advertiser is polled (and committed) by the new process within one interval of its start
        within = restarted + STARTUP + INTERVAL.total_seconds()
        while (done := await polled_ok_by(store, advertiser_ids, second_owner)) != set(advertiser_ids):
            assert time.monotonic() < within, (
                f"not polled again within an interval: {sorted(set(advertiser_ids) - done)}\n{second_log.read_text()}"
            )
            await asyncio.sleep(0.1)

        for advertiser_id in advertiser_ids:  # the polls the kill interrupted were marked abandoned
            runs = await store.polls(advertiser_id, limit=50)
            killed = [r.status for r in runs if r.owner == first_owner]
            assert PollStatus.ABANDONED in killed and PollStatus.RUNNING not in killed, killed

        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 45) == 0
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
        await store.close()
    text = second_log.read_text()
    assert "took over the lease of " + first_owner in text  # at once, not after the lease ran out
    assert "LeaseHeldError" not in text and "being polled by" not in text
    assert "Traceback" not in text
