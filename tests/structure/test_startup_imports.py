"""Each command imports only what it uses (issue 18): ``--version`` and ``--help`` load none of the libraries,
``check`` no database, HTTP, Slack, e-mail, scheduler or metrics library, ``once`` without ``[slack]`` and
``[email]`` neither the Slack SDK nor aiosmtplib, nor the daemon's, the status page's, the preview's or the
backtest's modules, nor sqlmodel (the store's tables are Core tables), nor alembic once the database is at the
head revision, nor jinja2 when it sends no message, nor SQLAlchemy's ORM (the store is Core:
monitor.lazy.defer_asyncio_orm), nor getpass (a poll records no one who ran it), nor, when its rules only notify,
the guards, the approval queue, the executor or the approvals' decisions, nor what a poll uses only on a rare
branch (the Change Log, report tasks, an older snapshot, ``check``'s module...); no cyclic collection runs while a
command imports its modules (monitor.gctune.start_up); a configuration section's own validator is built only when
the section is validated on its own, not for the file (monitor.configtypes.Section). Each probe is a fresh
interpreter that runs :func:`monitor.cli.main` and then lists what ``sys.modules`` holds."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from monitor.clock import SystemClock
from monitor.lazy import LATER, load_later
from monitor.sandbox import Sandbox, SandboxSettings

REPO = Path(__file__).resolve().parents[2]
LIBRARIES = (
    "sqlalchemy", "alembic", "mako", "aiosqlite", "asyncpg", "aiohttp", "slack_sdk", "aiosmtplib", "jinja2",
    "apscheduler", "prometheus_client", "sqlmodel",
)  # fmt: skip
#: Modules of the package that only some commands use.
PARTS = (
    "monitor.app", "monitor.wiring", "monitor.daemon", "monitor.scheduler", "monitor.metrics", "monitor.healthserver",
    "monitor.page.app", "monitor.page.auth", "monitor.slackapp.socket", "monitor.notify.slack", "monitor.notify.email",
    "monitor.preview.dryrun", "monitor.preview.explain", "monitor.backtest.replay", "monitor.status.collect",
    "monitor.auth.flow", "monitor.rules.testing", "monitor.steering", "monitor.preview.currencies",
)  # fmt: skip
#: What a poll loads only when one of its rules writes (act step: guards, approvals' queue, journal and API call),
#: and ``approvals approve`` (deciding one).
ACTING = (
    "monitor.actions.guard", "monitor.actions.guard_conflicts", "monitor.actions.guard_budget",
    "monitor.actions.guard_breaker", "monitor.actions.queue", "monitor.actions.execute", "monitor.actions.approve",
    "monitor.actions.revert",
)  # fmt: skip
#: What a poll loads only on a branch it seldom takes, and ``once`` not at all otherwise: ``check``'s module, the
#: Change Log (a status or budget changed), report tasks (an account past the sync report's cap), an older poll
#: rebuilt from the history, the database's size (maintenance, metrics), the rules' tallies (logged at debug) and
#: the token file (``auth``).
RARE = LATER
#: Modules of libraries that no command uses: the store is SQLAlchemy Core (``AsyncSession`` imports the ORM);
#: and getpass, which only the commands that record who ran them use (monitor.command_support.os_user).
UNUSED = ("sqlalchemy.orm", "sqlalchemy.ext.asyncio.session", "getpass")
#: Models of tables that config.example.toml and the probes' configurations hold (``[slack]``: the example's and
#: one probe's), validated by ``Settings``' validator as part of the file.
FILE_SECTIONS = ("TikTokSettings", "MonitorSettings", "StorageSettings", "SlackSettings", "ActionsSettings")
PROBE = f"""
import gc, json, sys
from monitor.cli import main
early = []  # the cyclic collections that ran before start-up's objects were frozen (monitor.gctune)
gc.callbacks.append(lambda phase, info: early.append(info["generation"]) if phase == "start" and not gc.get_freeze_count() else None)
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({list(LIBRARIES)!r}))
parts = sorted(set(sys.modules) & set({list(PARTS)!r}))
acting = sorted(set(sys.modules) & set({list(ACTING)!r}))
unused = sorted(set(sys.modules) & set({list(UNUSED)!r}))
rare = sorted(set(sys.modules) & set({list(RARE)!r}))
built = []  # the configuration's models whose validator was built
if "monitor.configtypes" in sys.modules:
    sections = list(sys.modules["monitor.configtypes"].Section.__subclasses__())
    for section in sections:
        sections += section.__subclasses__()
    built = sorted(s.__name__ for s in sections if s.__pydantic_complete__)
with open(sys.argv[1], "w") as out:
    json.dump({{"code": code, "libraries": loaded, "parts": parts, "acting": acting, "unused": unused, "rare": rare,
               "built": built,
               "start_up_collections": len(early),
               "collector_on": gc.isenabled()}}, out)
"""
ENV = {"TIKTOK_ACCESS_TOKEN": "t0ken-value", "SLACK_BOT_TOKEN": "xoxb-value"}  # the example config reads them


async def probe(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run the command line with ``args`` in a fresh interpreter (cwd ``tmp_path``); its exit code and imports."""
    result = tmp_path / "probe.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TIKTOK_", "SLACK_"))}, **ENV}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, str(result), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=tmp_path,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert result.exists(), output.decode()
    found: dict[str, Any] = json.loads(result.read_text())
    found["output"] = output.decode()
    return found


def example_config(folder: Path) -> Path:
    """config.example.toml and the example rules in ``folder``, where no database exists yet."""
    shutil.copytree(REPO / "rules", folder / "rules")
    return Path(shutil.copy(REPO / "config.example.toml", folder / "config.toml"))


async def test_version_and_help_load_no_library_and_no_command(tmp_path: Path) -> None:
    for args in (["--version"], ["--help"], ["once", "--help"], ["completion", "bash"]):
        found = await probe(tmp_path, *args)
        assert found["code"] == 0, found["output"]
        assert (found["libraries"], found["parts"]) == ([], []), args
        assert found["collector_on"], args  # as it was before the command


async def test_check_loads_no_database_http_slack_or_scheduler_library(tmp_path: Path) -> None:
    found = await probe(tmp_path, "check", "--config", str(example_config(tmp_path)))
    assert found["code"] == 0, found["output"]
    assert "OK" in found["output"]
    assert found["libraries"] == ["jinja2"]  # it renders every template; it opens no database that does not exist
    assert found["parts"] == ["monitor.app", "monitor.preview.currencies"]  # the stored ones: none without a database
    # Settings validates the whole file: the sections it holds build no validator of their own (the single token's
    # AccountSettings does: TikTokSettings.token_accounts makes one in code)
    assert "Settings" in found["built"] and not set(FILE_SECTIONS) & set(found["built"])
    assert found["collector_on"]  # off while it ran (it calls no tune_collector), on again after


def sandbox_config(folder: Path, base_url: str, *, slack: bool, when: str = "spend > 1", acts: bool = False) -> Path:
    """A rule (``when``) telling the console only, and pausing what it finds with ``acts`` (a dry run: actions are
    disabled); ``[slack]`` only with ``slack``."""
    rules = folder / "rules"
    rules.mkdir()
    (rules / "spend.toml").write_text(
        f'[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "{when}"\nnotify = ["console"]\n'
        + ('action = "pause"\n' if acts else "")
    )
    config = folder / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["7000000000000000001", '
        f'"7000000000000000002"]\n[monitor]\nrules = "rules"\n[storage]\nurl = "sqlite:///{folder / "monitor.db"}"\n'
        '[actions]\nenabled = false\n[console]\n'
        + ('[slack]\ntoken = "xoxb-1"\nchannel = "#ads"\nbase_url = "http://127.0.0.1:9/"\n' if slack else "")
    )  # fmt: skip
    return config


async def test_once_loads_only_the_channels_it_is_configured_with(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxSettings(), clock=SystemClock())
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        plain, with_slack, quiet, acting = (tmp_path / name for name in ("plain", "slack", "quiet", "acting"))
        for folder in (plain, with_slack, quiet, acting):
            folder.mkdir()
        found = await probe(plain, "once", "--config", str(sandbox_config(plain, base_url, slack=False)))
        again = await probe(plain, "once", "--config", str(plain / "config.toml"))  # the database is at head now
        told = await probe(with_slack, "once", "--config", str(sandbox_config(with_slack, base_url, slack=True)))
        never = sandbox_config(quiet, base_url, slack=False, when="spend < 0")  # no finding: no message
        silent = await probe(quiet, "once", "--config", str(never))
        stored = await probe(plain, "check", "--config", str(plain / "config.toml"))
        acts = await probe(acting, "once", "--config", str(sandbox_config(acting, base_url, slack=False, acts=True)))
    assert found["code"] == 0, found["output"]
    assert "2 advertiser(s), 0 failed" in found["output"]
    assert {"sqlalchemy", "aiohttp", "jinja2"} <= set(found["libraries"])  # what a poll uses
    assert not {"slack_sdk", "aiosmtplib", "apscheduler", "prometheus_client"} & set(found["libraries"])
    assert "sqlmodel" not in found["libraries"]  # the store's tables are plain SQLAlchemy Core tables
    assert found["parts"] == ["monitor.app", "monitor.wiring"]
    assert "alembic" in found["libraries"]  # it created the database
    # the store is SQLAlchemy Core: its asyncio engine without the ORM, migrations included (monitor.lazy); and
    # no getpass: a poll records no one who ran it
    assert found["unused"] == again["unused"] == []
    # its rules only notify: no guard, approval queue or executor, nor the approvals' decisions (approve, revert)
    assert found["acting"] == again["acting"] == []
    # nor what a poll needs only now and then (RARE)
    assert found["rare"] == again["rare"] == silent["rare"] == []
    # the file is validated by Settings' validator: no [tiktok], [monitor], [storage] or [slack] one of their own
    for built in (found["built"], told["built"]):
        assert "Settings" in built and not set(FILE_SECTIONS) & set(built)
    # no cyclic collection while the modules were imported; frozen, then the collector is on
    assert found["start_up_collections"] == 0 and found["collector_on"]
    # a database at the head revision is opened without alembic (its version read with plain SQL)
    assert again["code"] == 0, again["output"]
    assert not {"alembic", "mako"} & set(again["libraries"])
    # a poll that sends no message renders no template, so it loads no jinja2
    assert silent["code"] == 0, silent["output"]
    assert "0 findings; 0 message(s) queued" in silent["output"]
    assert "sqlalchemy" in silent["libraries"] and "jinja2" not in silent["libraries"]
    # the probe sees a channel's library when the configuration sets the channel up
    assert told["code"] == 0, told["output"]
    assert "slack_sdk" in told["libraries"] and "monitor.notify.slack" in told["parts"]
    # check reads a database that exists (the accounts' currencies), so it loads the store then
    assert stored["code"] == 0, stored["output"]
    assert "sqlalchemy" in stored["libraries"] and "alembic" not in stored["libraries"]
    assert stored["unused"] == []
    # a rule that acts: the guards decide (a dry run, actions are disabled), the executor journals; still no ORM
    assert acts["code"] == 0, acts["output"]
    assert "dry run" in acts["output"] and "actions: none asked for" not in acts["output"]
    assert acts["acting"] == [
        "monitor.actions.execute", "monitor.actions.guard", "monitor.actions.guard_breaker",
        "monitor.actions.guard_budget", "monitor.actions.guard_conflicts", "monitor.actions.queue",
    ]  # fmt: skip
    assert acts["unused"] == []


def test_the_daemon_loads_at_start_what_once_loads_on_a_rare_branch() -> None:
    """``run`` calls load_later before it polls: each module named exists and imports (a package upgraded in place
    cannot hand the old daemon a newer one hours later)."""
    load_later()
    assert set(LATER) <= set(sys.modules)
