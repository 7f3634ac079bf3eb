"""`tiktok-monitor run` with ``[slack] app_token`` as a user runs it: a subprocess against the sandbox and the fake
Slack. Its alert reaches Slack with buttons, it connects through Socket Mode (the app token read from a file), and a
click on "Silence 2h" is acknowledged, stored with the Slack user in the daemon's database and said in the message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_socket_mode import APP_TOKEN, BOT_TOKEN, FakeSocketMode, block_actions
from slackapp_factories import ALICE

from monitor.clock import SystemClock
from monitor.domain import Matcher
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.store.repo import Store

ADV = "7000000000000000001"
SPENDING = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["slack"]\n'


@pytest.fixture
async def live_sandbox():
    sandbox = Sandbox(SandboxSettings(campaigns_per_advertiser=1), clock=SystemClock())  # the daemon's real clock
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


async def test_run_takes_clicks_through_socket_mode(tmp_path: Path, live_sandbox, fake: FakeSocketMode) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(SPENDING)
    (tmp_path / "app-token").write_text(APP_TOKEN + "\n")
    database = tmp_path / "monitor.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "2s"\nrules = "rules"\n[storage]\nurl = "sqlite:///{database}"\n'
        f'[slack]\ntoken = "{BOT_TOKEN}"\nchannel = "#ads-alerts"\nbase_url = "{fake.api_url}"\n'
        f'app_token_file = "app-token"\nallowed_users = ["{ALICE}"]\n'
        f'[notify]\ninterval = "1s"\n[health]\nenabled = false\n'
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        await fake.connected()
        await fake.wait_until(lambda: bool(fake.posted), within=30)
        message = fake.message()
        envelope = await fake.click(block_actions(message, "silence_2h"))
        assert await fake.acked(envelope) < 3.0
        await fake.wait_until(lambda: bool(fake.updates), within=10)
        assert fake.updates[0]["text"].startswith(f"Silenced 2h by <@{ALICE}> (silence #1, until ")
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text and APP_TOKEN not in text
    assert "slack buttons: Socket Mode connecting" in text
    store = await Store.open(f"sqlite:///{database}")
    try:
        [silence] = await store.silences.active(datetime.now(UTC))
        assert silence.created_by == "slack:U0ALICE (alice)"
        assert silence.matchers[:3] == (Matcher("rule", "spending"), Matcher("advertiser", ADV),
                                        Matcher("level", "campaign"))  # fmt: skip
        assert timedelta(hours=2) == silence.ends_at - silence.starts_at
    finally:
        await store.close()
