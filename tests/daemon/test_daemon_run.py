"""`tiktok-monitor run` as a user runs it: a subprocess against the sandbox, with a 2-second interval.

It must deliver alerts, pick up an edited rule file, keep the old rules when a rule file is broken (and say
so), and on SIGTERM exit 0 with every queued message delivered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from monitor.store.repo import Store

ADV = "7000000000000000001"
SPENDING = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\n'
PAUSED = (
    '[[rule]]\nname = "paused"\nlevel = "campaign"\nwhen = "operation_status == \'DISABLE\'"\nnotify = ["webhook"]\n'
)


class Receiver:
    """A webhook endpoint that keeps every JSON body it gets."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with self.arrived:
            self.bodies.append(body)
            self.arrived.notify_all()
        return web.json_response({"ok": True})

    def rules_told(self) -> list[str]:
        return [b["rule"]["name"] for b in self.bodies if b.get("type") == "alert"]

    def ops_told(self) -> list[str]:
        return [b["kind"] for b in self.bodies if b.get("type") == "ops"]

    async def wait_for(self, predicate, within: float = 30.0) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(predicate), within)


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


async def test_run_alerts_reloads_survives_a_broken_rule_and_stops_cleanly(tmp_path: Path, live_sandbox, receiver):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.toml").write_text(SPENDING)
    database = tmp_path / "monitor.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "2s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{database}"\n'
        f'[webhook]\nurl = "{receiver.url}"\n'
        f'[notify]\ninterval = "1s"\n[health]\nenabled = false\n'
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        await receiver.wait_for(lambda: "spending" in receiver.rules_told())

        (rules / "a.toml").write_text(SPENDING + PAUSED)  # an edit takes effect without a restart
        await receiver.wait_for(lambda: "paused" in receiver.rules_told())

        (rules / "b.toml").write_text('[[rule]]\nname = "broken"\nlevel = "campaign"\nwhen = "spend >"\n')
        await receiver.wait_for(lambda: "rules_reload_failed" in receiver.ops_told())
        polls_before = len([a for a in live_sandbox.arrivals if a.path == "campaign/get/"])
        await asyncio.sleep(5)  # the old rules keep polling: two or more cycles at a 2 s interval
        assert len([a for a in live_sandbox.arrivals if a.path == "campaign/get/"]) >= polls_before + 2
        assert process.returncode is None

        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert "rules not reloaded" in text and "b.toml:4" in text
    assert receiver.rules_told().count("spending") == 1  # told once, not once per poll

    store = await Store.open(f"sqlite:///{database}")
    try:
        assert await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=1)) == []  # nothing left unsent
        runs = await store.polls(ADV, limit=100)
        assert runs and all(run.status in ("ok",) for run in runs)  # every poll finished and committed
    finally:
        await store.close()


async def test_run_in_a_terminal_says_when_it_polls_and_what_fires_and_resolves(tmp_path: Path, live_sandbox):
    """Issue 15: `run` was silent in a terminal: no first-poll time at start, no line when an alert fired or
    resolved, and no channel a newcomer could use without Slack. `[console]` prints what rules send it."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.toml").write_text(SPENDING.replace('"webhook"', '"console"'))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADV}"]\n[monitor]\ninterval = "2s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n[console]\n'
        f'[notify]\ninterval = "1s"\n[health]\nenabled = false\n'
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    seen = ""

    async def read_until(text: str) -> None:
        nonlocal seen
        while text not in seen:
            try:
                line = await asyncio.wait_for(process.stdout.readline(), 30)  # type: ignore[union-attr]
            except TimeoutError:
                raise AssertionError(f"{text!r} not printed within 30 s:\n{seen}") from None
            assert line, seen
            seen += line.decode()

    try:
        await read_until("first poll at ")
        assert "(in " in seen.splitlines()[-1]
        await read_until("alert firing: rule spending on campaign ")
        await read_until("── alert: [WARNING] Firing: spending · Acme Outdoor US")  # the [console] channel's message
        (rules / "a.toml").write_text(SPENDING.replace('"webhook"', '"console"').replace("spend > 0", "spend < 0"))
        await read_until("alert resolved: rule spending on campaign ")
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = seen + rest.decode()
    assert process.returncode == 0, text
    firing = next(line for line in text.splitlines() if "alert firing: rule spending" in line)
    assert f"(advertiser {ADV} " in firing and ": spend = " in firing  # rule, entity, advertiser and values
    assert "Traceback" not in text
