"""Approvals in the running daemon: a rule with ``approve_within`` fires and writes nothing; nobody approves, so
the daemon's outbox job drops the approval when it expires and tells the rule's channel once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_daemon_breaker import STATUS_WRITES

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.daemon import run_daemon
from monitor.domain.approvals import ApprovalState
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.store.repo import Store

ADVERTISER = extra_advertiser_id(0)


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(qps=1000, extra_advertisers=1), clock=SystemClock())  # the daemon's clock
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


async def stored(url: str) -> tuple[list[Any], list[dict[str, Any]]]:
    store = await Store.open(url)
    try:
        approvals = await store.approvals.list()
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=3650), limit=1000)
    finally:
        await store.close()
    return approvals, [{**r.payload, "_channel": r.channel} for r in rows if r.payload["type"] == "ops"]


async def test_run_drops_an_unanswered_approval_when_it_expires_and_tells_once(
    tmp_path: Path, live_sandbox: Sandbox
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(
        '[[rule]]\nname = "stop-spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\n'
        'action = "pause"\napprove_within = "3s"\n'
    )
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADVERTISER}"]\nmax_qps = 1000\n[monitor]\ninterval = "2s"\nrules = "rules"\n'
        f'[storage]\nurl = "{url}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:9/never-reached"\n[notify]\ninterval = "1s"\nretry_first = "1h"\n'
    )
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(load_settings(config), stop=stop))
    try:
        async with asyncio.timeout(60):
            while True:
                approvals, told = await stored(url)
                if approvals and approvals[0].state is ApprovalState.EXPIRED and told:
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # more polls and outbox runs: no second approval, nobody told again
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
    approvals, told = await stored(url)
    [dropped] = approvals  # the alert still fires: it does not ask again
    assert dropped.decided_by == "expiry"
    [message] = [m for m in told if m["subject"] == f"approval:{dropped.id}"]
    assert message["_channel"] == "webhook" and "the action was dropped" in message["detail"]
    assert not any(a.path == STATUS_WRITES for a in live_sandbox.arrivals)
