"""`tiktok-monitor auth login` as a user runs it, against the sandbox's portal, then `once` with the stored token."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import stat
import sys
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import SystemClock
from monitor.sandbox import Sandbox, SandboxSettings

APP_ID = "7100000000000000001"
SECRET = "4242424242-secret-value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def portal():
    sandbox = Sandbox(SandboxSettings(app_id=APP_ID, secret=SECRET), clock=SystemClock())
    async with sandbox.serve("127.0.0.1", 0) as base_url:
        sandbox.base_url = base_url
        yield sandbox


async def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_login_through_the_portal_stores_a_0600_token_that_once_can_use(tmp_path: Path, portal):
    token_file = tmp_path / "state" / "access_token"
    token_file.parent.mkdir(mode=0o700)
    token_file.write_text("an-older-token\n")  # replaced, as --force asks
    token_file.chmod(0o600)
    env = {**os.environ, "TIKTOK_APP_ID": APP_ID, "TIKTOK_APP_SECRET": SECRET, "BROWSER": "true"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "auth", "login", "--base-url", portal.base_url,
        "--port", str(free_port()), "--token-file", str(token_file), "--timeout", "30", "--force",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        # the user opens the printed URL; the portal redirects the browser to the loopback server
        seen = ""
        while (match := re.search(r"(http://\S+/portal/auth\?\S+)", seen)) is None:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, f"auth login printed no URL: {seen}"
            seen += line.decode()
        async with aiohttp.ClientSession() as browser, browser.get(match.group(1)) as page:
            assert page.status == 200
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, seen + err.decode()
    token = token_file.read_text().strip()
    assert token != "an-older-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    everything = seen + out.decode() + err.decode()
    assert token not in everything and SECRET not in everything
    assert f'access_token_file = "{token_file}"' in everything

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text('[[rule]]\nname = "spend"\nlevel = "campaign"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{portal.base_url}"\naccess_token_file = "{token_file}"\n'
        f'advertiser_ids = ["7000000000000000001"]\n[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        "[health]\nenabled = false\n"
    )
    code, out, err = await run("once", "--config", str(config), env=env)
    assert code == 0, out + err
    assert "1 advertiser(s), 0 failed" in out
    assert token not in out + err


async def test_a_forged_state_is_refused(tmp_path: Path, portal):
    env = {**os.environ, "TIKTOK_APP_ID": APP_ID, "TIKTOK_APP_SECRET": SECRET, "BROWSER": "true"}
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "auth", "login", "--base-url", portal.base_url,
        "--port", str(port), "--token-file", str(tmp_path / "t"), "--timeout", "30",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        seen = ""
        while "portal/auth" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line
            seen += line.decode()
        forged = f"http://127.0.0.1:{port}/callback?auth_code=abc&state=not-the-state"
        async with aiohttp.ClientSession() as browser, browser.get(forged) as page:
            assert page.status >= 400
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 1
    assert "state" in err.decode()
    assert not (tmp_path / "t").exists()


async def test_login_leaves_an_existing_token_file_alone_without_force(tmp_path: Path, portal):
    """Issue 15: `auth login` replaced an existing token file without a word. It refuses now, before the
    browser opens, and says how to replace it."""
    token_file = tmp_path / "access_token"
    token_file.write_text("the-token-in-use\n")
    token_file.chmod(0o600)
    env = {**os.environ, "TIKTOK_APP_ID": APP_ID, "TIKTOK_APP_SECRET": SECRET, "BROWSER": "true"}
    code, out, err = await run(
        "auth", "login", "--base-url", portal.base_url, "--port", str(free_port()),
        "--token-file", str(token_file), "--timeout", "5", env=env,
    )  # fmt: skip
    assert code == 1, out + err
    assert f"error: {token_file}: a token is stored here already" in err and "--force" in err
    assert "portal/auth" not in out + err  # refused before any authorization was asked for
    assert token_file.read_text() == "the-token-in-use\n"


def listing_config(tmp_path: Path, base_url: str) -> Path:
    """The example config's [tiktok] as a new user has it: a token, the app keys commented out."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\n'
        'advertiser_ids = ["7000000000000000001"]\n# app_id = "${TIKTOK_APP_ID}"\n'
        '# secret = "${TIKTOK_APP_SECRET}"\n[health]\nenabled = false\n'
    )
    return config


async def test_auth_advertisers_without_app_keys_names_the_keys_and_variables(tmp_path: Path, portal):
    """Issue 15: `auth advertisers --config config.toml` failed on the example config (app keys commented out)."""
    config = listing_config(tmp_path, portal.base_url)
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOK_APP_ID", "TIKTOK_APP_SECRET")}
    code, out, err = await run("auth", "advertisers", "--config", str(config), env=env)
    assert code == 2, out + err
    assert f"{config}: tiktok.app_id: listing the advertisers a token reaches" in err
    assert "TIKTOK_APP_ID" in err and "TIKTOK_APP_SECRET" in err and "tiktok.secret" in err
    assert not [a for a in portal.arrivals if a.path == "oauth2/advertiser/get/"]  # nothing was sent

    # the variables the other auth commands read serve here too
    code, out, err = await run(
        "auth", "advertisers", "--config", str(config),
        env={**env, "TIKTOK_APP_ID": APP_ID, "TIKTOK_APP_SECRET": SECRET},
    )  # fmt: skip
    assert code == 0, out + err
    assert "7000000000000000001" in out and "ADVERTISER ID" in out
    assert SECRET not in out + err
