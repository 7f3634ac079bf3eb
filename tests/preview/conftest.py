"""Fixtures of the preview tests: a database of the test's own (SQLite file or a new PostgreSQL database), the
local Slack Web API of tests/notify, and a monitor configuration pointing at the sandbox, that database and it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from databases import DATABASES, own_database

from monitor.config import Settings, load_settings

ADVERTISER = "7000000000000000001"


def _notify_fakes() -> ModuleType:
    """tests/notify/notify_fakes.py (FakeSlack: the local Slack Web API), loaded by its path."""
    path = Path(__file__).parent.parent / "notify" / "notify_fakes.py"
    spec = importlib.util.spec_from_file_location("preview_notify_fakes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


FAKES = _notify_fakes()
SLACK_TOKEN: str = FAKES.SLACK_TOKEN


@pytest.fixture
async def slack() -> AsyncIterator[Any]:
    server = FAKES.FakeSlack()
    await server.start()
    yield server
    await server.close()


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own: a SQLite file, or a new PostgreSQL database (dropped afterwards)."""
    async with own_database(request.param, tmp_path, "preview") as url:
        yield url


@pytest.fixture
def configure(tmp_path: Path, sandbox: Any, slack: Any, database_url: str) -> Callable[..., Settings]:
    """Write the rule files (name -> TOML) and a configuration for one sandbox advertiser, the test's database
    and Slack (the local fake); return the settings."""

    def write(rules: dict[str, str], *, actions_enabled: bool = True) -> Settings:
        directory = tmp_path / "rules"
        directory.mkdir(exist_ok=True)
        for old in directory.glob("*.toml"):
            old.unlink()
        for name, text in rules.items():
            (directory / f"{name}.toml").write_text(text)
        (tmp_path / "config.toml").write_text(
            f'[monitor]\nrules = "{directory}"\n'
            f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\n'
            f'advertiser_ids = ["{ADVERTISER}"]\n'
            f"[storage]\nurl = '{database_url}'\n"
            f'[slack]\ntoken = "{SLACK_TOKEN}"\nchannel = "#ads-alerts"\nbase_url = "{slack.api_url}"\n'
            f"[actions]\nenabled = {'true' if actions_enabled else 'false'}\n"
        )
        return load_settings(tmp_path / "config.toml")

    return write
