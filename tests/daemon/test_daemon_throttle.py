"""`tiktok-monitor run` with `tiktok-monitor once` started beside it on the same app, as a user would: two
processes against the sandbox, which enforces TikTok's 10 QPS per app (code 40100 past it).

Measured before issue 13: `once` beside `run` drew 40100 answers to requests already in flight, each doubled the
app-wide pause up to 300 s, and no poll finished for five minutes. Now each process has at most one throttle
episode, and `run` goes on polling every advertiser within two intervals.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import SystemClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.store.repo import Store

ADVERTISERS = [extra_advertiser_id(i) for i in range(8)]
#: run's 8 advertisers need about 4 requests each per interval: 4 requests a second, so `once` beside it (at the
#: app's 10 a second) exceeds the app's budget, and run still fits in the halved rate (5 a second) it keeps for a
#: minute after a 40100. (At 6 s run alone needed 5.3 a second: more than the halved rate, so it fell behind for
#: that minute whatever it did, and the test failed about one run in two.)
INTERVAL = 8.0
RULES = (
    '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\n\n'
    '[[rule]]\nname = "groups-spending"\nlevel = "adgroup"\nwhen = "spend > 0"\n'
)
EPISODE = "TikTok rate-limited the app"


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(extra_advertisers=len(ADVERTISERS)), clock=SystemClock())
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url  # type: ignore[attr-defined]
        yield sandbox


def write_config(tmp_path: Path, name: str, base_url: str) -> Path:
    ids = ", ".join(f'"{a}"' for a in ADVERTISERS)
    # `once` runs at half rate for its first minute, beside run: its polls get time (on a loaded machine 10 s, the
    # default deadline at this interval, was too short once); the test is about run's polls and the episodes
    deadline = 'poll_timeout = "45s"\n' if name == "once" else ""
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{ids}]\n'
        f'[monitor]\ninterval = "{INTERVAL:.0f}s"\nrules = "rules"\n{deadline}'
        f'[storage]\nurl = "sqlite:///{tmp_path / name}.db"\n[health]\nenabled = false\n'
    )
    return config


async def start(command: str, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", command, "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def ok_polls(store: Store) -> dict[str, list[datetime]]:
    """When each advertiser's successful polls finished (advertisers without one are left out)."""
    finished = {}
    for advertiser_id in ADVERTISERS:
        done = [run.finished_at for run in await store.polls(advertiser_id) if run.status == "ok" and run.finished_at]
        if done:
            finished[advertiser_id] = done
    return finished


async def test_run_keeps_polling_every_advertiser_with_once_beside_it(tmp_path: Path, live_sandbox) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(RULES)
    run = await start("run", write_config(tmp_path, "run", live_sandbox.base_url))
    store: Store | None = None
    once = None
    try:
        deadline = time.monotonic() + 30
        while store is None:  # run creates its database as it starts
            assert time.monotonic() < deadline and run.returncode is None, "run did not start"
            if (tmp_path / "run.db").exists():
                store = await Store.open(f"sqlite:///{tmp_path / 'run.db'}")
            await asyncio.sleep(0.2)
        while len(await ok_polls(store)) < len(ADVERTISERS):  # run has polled every advertiser once
            assert time.monotonic() < deadline and run.returncode is None, "run did not poll every advertiser"
            await asyncio.sleep(0.2)

        once_started = datetime.now(UTC)
        within = once_started + 2 * timedelta(seconds=INTERVAL)
        once = await start("once", write_config(tmp_path, "once", live_sandbox.base_url))
        once_output, _ = await asyncio.wait_for(once.communicate(), 60)
        once_took = datetime.now(UTC) - once_started
        await asyncio.sleep(max(0.0, (within - datetime.now(UTC)).total_seconds()) + 0.5)
        polled = await ok_polls(store)
        assert run.returncode is None
    finally:
        if store is not None:
            await store.close()
        if run.returncode is None:
            run.send_signal(signal.SIGTERM)
        run_output, _ = await asyncio.wait_for(run.communicate(), 45)
        if once is not None and once.returncode is None:
            once.kill()
            await once.wait()
    run_text, once_text = run_output.decode(), once_output.decode()
    throttled = sum(1 for a in live_sandbox.arrivals if a.code == 40100)
    episodes = run_text.count(EPISODE), once_text.count(EPISODE)
    print(f"\n40100 answers {throttled}; episodes (run, once) {episodes}; once took {once_took}")  # -s shows it
    assert once.returncode == 0, once_text  # once watched every advertiser too
    assert throttled >= 1  # the two processes did exceed the app's budget
    assert max(episodes) <= 1, run_text + once_text  # at most one throttle episode per process
    assert "retry 1/" not in run_text + once_text  # no retry line per throttled request
    missed = [a for a in ADVERTISERS if not any(once_started < t <= within for t in polled.get(a, []))]
    assert not missed, f"run polled no advertiser of {missed} within two intervals of once starting"
