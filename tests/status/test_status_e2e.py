"""`tiktok-monitor status` as a user runs it: a real `run` subprocess polls the sandbox every 2 s, and `status`
(another subprocess, the same database) shows the firing alert with the values the rule saw, the advertiser's
last and next poll, and the outbox backlog of a webhook nobody answers; its JSON validates against
docs/status.schema.json."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from databases import DATABASES, own_database
from schema_check import load_schema, problems

from monitor.clock import SystemClock
from monitor.sandbox import Sandbox, SandboxSettings

ADV = "7000000000000000001"
SPENDING = (
    '[[rule]]\nname = "spending"\nlevel = "campaign"\nseverity = "critical"\nwhen = "spend > 0"\nnotify = ["webhook"]\n'
)


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own: a SQLite file, or a new PostgreSQL database (dropped afterwards)."""
    async with own_database(request.param, tmp_path, "status") as url:
        yield url


def closed_port() -> int:
    """A loopback port nobody listens on: deliveries there fail (connection refused) and wait for a retry."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(), clock=SystemClock())  # real time: the daemon runs on the real clock
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


async def cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_status_shows_a_firing_alert_with_its_values_while_run_runs(
    tmp_path: Path, live_sandbox, database_url: str
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.toml").write_text(SPENDING)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "2s"\nrules = "rules"\n'
        f'[storage]\nurl = "{database_url}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:{closed_port()}/hook"\n'
        f'[notify]\ninterval = "1s"\n[health]\nenabled = false\n'
    )
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        report: dict = {}
        for _ in range(60):  # until a poll has committed a firing alert and the sender has tried its message
            code, out, err = await cli("status", "--config", str(config), "--json")
            assert code == 0, err
            report = json.loads(out)
            firing = [a for a in report["alerts"] if a["state"] == "firing"]
            if firing and any(b["retrying"] for b in report["outbox"]):
                break
            await asyncio.sleep(1)
        assert run.returncode is None  # status ran beside the daemon
        code, text, err = await cli("status", "--config", str(config))
        assert code == 0, err
    finally:
        if run.returncode is None:
            run.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(run.communicate(), 45)
    assert "Traceback" not in output.decode()

    assert problems(report, load_schema()) == []
    now = datetime.now(UTC)
    firing = [a for a in report["alerts"] if a["state"] == "firing"]
    assert firing, report
    alert = firing[0]
    assert (alert["rule"], alert["severity"], alert["level"], alert["advertiser_id"]) == (
        "spending",
        "critical",
        "campaign",
        ADV,
    )
    assert alert["entity_name"]  # the campaign's name from the snapshot
    spend = [value for name, value in alert["values"].items() if "spend" in name]
    assert spend and all(isinstance(v, int | float) and v > 0 for v in spend), alert["values"]
    (advertiser,) = report["advertisers"]
    assert advertiser["id"] == ADV and advertiser["paused"] is None
    assert report["replicas"] == [advertiser["polled_by"]] and advertiser["polled_by"].endswith(f":{run.pid}")
    assert advertiser["last_poll"]["outcome"] == "ok"
    next_poll = datetime.fromisoformat(advertiser["next_poll_at"])
    assert 0 <= (next_poll - datetime.fromisoformat(report["generated_at"])).total_seconds() <= 2
    assert abs((datetime.fromisoformat(advertiser["last_poll"]["at"]) - now).total_seconds()) < 30
    (backlog,) = report["outbox"]
    assert backlog["channel"] == "webhook" and backlog["pending"] >= backlog["retrying"] >= 1
    assert report["breaker"]["open"] is False and report["silences"] == []

    entity = f'campaign {alert["entity_id"]} "{alert["entity_name"]}"'
    assert f"FIRING critical spending: {entity} (advertiser {ADV})" in text
    assert "webhook:" in text and "retrying" in text
    assert "actions breaker: closed" in text
