"""SIGHUP in `run`: the configuration is read again; what is safe is applied at once (interval, channels, rules
directory, actions), what is not is named as needing a restart, and an invalid file changes nothing (issue 15:
SIGHUP reloaded the rules only, though the unit file and systemd/README promised the configuration too)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from monitor.config import load_settings
from monitor.reload import config_changes, merged

ADV = "7000000000000000001"
RULE = '[[rule]]\nname = "{name}"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = {notify}\n'


def config_text(base_url: str, tmp_path: Path, *, interval: str, rules: str, extra: str = "") -> str:
    return (
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "{interval}"\nrules = "{rules}"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[notify]\ninterval = "1s"\n[health]\nenabled = false\n{extra}'
    )


async def test_sighup_applies_interval_channels_rules_and_actions_and_names_what_needs_a_restart(
    tmp_path: Path, live_sandbox
):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(RULE.format(name="quiet", notify="[]"))
    (tmp_path / "console-rules").mkdir()
    (tmp_path / "console-rules" / "a.toml").write_text(RULE.format(name="loud", notify='["console"]'))
    config = tmp_path / "config.toml"
    # one poll a day: nothing happens within the test unless the new interval is applied
    config.write_text(config_text(live_sandbox.base_url, tmp_path, interval="1d", rules="rules"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    seen = ""

    async def read_until(text: str, within: float = 30) -> str:
        nonlocal seen
        while text not in seen:
            try:
                line = await asyncio.wait_for(process.stdout.readline(), within)  # type: ignore[union-attr]
            except TimeoutError:
                raise AssertionError(f"{text!r} not printed within {within} s:\n{seen}") from None
            assert line, seen
            seen += line.decode()
        return next(line for line in seen.splitlines() if text in line)

    try:
        await read_until("monitor started: every 1d")
        # interval, a new rules directory whose rule notifies a channel that only the new config has, the actions'
        # limits; and two keys that need a restart
        config.write_text(
            config_text(live_sandbox.base_url, tmp_path, interval="2s", rules="console-rules",
                        extra='[console]\n[actions]\nmax_writes = 3\n')
            .replace("monitor.db", "other.db").replace("[health]\nenabled = false", "[health]\nenabled = true")
        )  # fmt: skip
        process.send_signal(signal.SIGHUP)
        applied = await read_until("configuration: applied ")
        assert applied.endswith("applied actions.max_writes, console, monitor.interval, monitor.rules"), applied
        restart = await read_until("NOT applied until a restart")
        assert restart.endswith(": health.enabled, storage.url"), restart
        await read_until("alert firing: rule loud on campaign ")
        await read_until("── alert: [WARNING] Firing: loud · Acme Outdoor US")  # through the new [console]
        assert not (tmp_path / "other.db").exists()  # the storage is the one of the start until a restart

        # an invalid configuration changes nothing and says where
        config.write_text(config.read_text().replace('interval = "2s"', 'interval = "2x"'))
        process.send_signal(signal.SIGHUP)
        refused = await read_until("configuration not reloaded: ")
        assert f"{config}:6: monitor.interval: " in refused, refused
        await read_until("the previous configuration stays in force")
        polls = len([a for a in live_sandbox.arrivals if a.path == "campaign/get/"])
        await asyncio.sleep(4.5)  # still every 2 s
        assert len([a for a in live_sandbox.arrivals if a.path == "campaign/get/"]) >= polls + 2
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = seen + rest.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert "sandbox-token" not in text


def test_changes_are_split_into_live_and_restart_keys_and_merged_keeps_the_restart_ones(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(config_text("http://127.0.0.1:1", tmp_path, interval="5m", rules="rules"))
    old = load_settings(config)
    config.write_text(
        config_text("http://127.0.0.1:2", tmp_path, interval="1m", rules="rules", extra="[console]\n")
        .replace('interval = "1s"', 'interval = "1s"\ngroup_limit = 9\nops_cooldown = "1h"')
    )  # fmt: skip
    new = load_settings(config)
    changes = config_changes(old, new)
    assert changes.live == ("console", "monitor.interval", "notify.group_limit")
    assert changes.restart == ("notify.ops_cooldown", "tiktok.base_url")
    assert changes.channels
    now = merged(old, new)
    assert now.monitor.interval == new.monitor.interval and now.console is not None
    assert now.notify.group_limit == 9 and now.notify.ops_cooldown == old.notify.ops_cooldown
    assert now.tiktok.base_url == "http://127.0.0.1:1" and now.source == config
    assert config_changes(old, old) == config_changes(new, new) == type(changes)()


def test_the_slack_buttons_keys_need_a_restart_and_the_rest_of_slack_applies_live(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.toml"
    slack = '[slack]\ntoken = "xoxb-1"\nchannel = "#a"\n'
    config.write_text(config_text("http://127.0.0.1:1", tmp_path, interval="5m", rules="rules", extra=slack))
    old = load_settings(config)
    buttons = 'app_token = "xapp-1"\nallowed_users = ["U0ALICE"]\n'
    config.write_text(
        config_text(
            "http://127.0.0.1:1", tmp_path, interval="5m", rules="rules", extra=slack.replace("#a", "#b") + buttons
        )
    )
    new = load_settings(config)
    changes = config_changes(old, new)
    assert (changes.live, changes.restart) == (("slack.channel",), ("slack.allowed_users", "slack.app_token"))
    now = merged(old, new)  # no buttons on messages until a restart connects Socket Mode
    assert now.slack is not None and now.slack.channel == "#b"
    assert (now.slack.app_token, now.slack.allowed_users) == (None, [])
    config.write_text(config_text("http://127.0.0.1:1", tmp_path, interval="5m", rules="rules"))
    removed = config_changes(new, load_settings(config))  # slack removed: the running buttons' keys too
    assert removed.live == ("slack",) and removed.restart == ("slack.allowed_users", "slack.app_token")
