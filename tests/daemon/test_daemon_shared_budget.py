"""The composition root shares the app's budget through the store (``[tiktok] shared_budget``, default on): two
monitors on one database, each polling its own advertisers at once, stay within ``max_qps`` together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import Settings, load_settings
from monitor.sandbox import Sandbox
from monitor.sandbox.arrivals import max_in_window
from monitor.sandbox.settings import SandboxSettings, extra_advertiser_id
from monitor.store.budget import AppBudget
from monitor.wiring import open_runtime

MAX_QPS = 10
RULE = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["slack"]\n'


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(qps=MAX_QPS, extra_advertisers=6)


def config(tmp_path: Path, sandbox: Sandbox, ids: list[str], extra: str = "") -> Settings:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "a.toml").write_text(RULE)
    listed = ", ".join(f'"{a}"' for a in ids)
    path = tmp_path / f"config-{ids[0]}.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\napp_id = "4242"\n'
        f"max_qps = {MAX_QPS}\nadvertiser_ids = [{listed}]\n{extra}"
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        '[slack]\nwebhook_url = "http://127.0.0.1:9/unreachable"\n'
    )
    return load_settings(path)


async def test_two_monitors_on_one_database_share_max_qps(tmp_path: Path, sandbox: Sandbox, clock) -> None:
    ids = [extra_advertiser_id(i) for i in range(6)]
    runtimes = [
        await open_runtime(config(tmp_path, sandbox, ids[:3]), clock=clock),
        await open_runtime(config(tmp_path, sandbox, ids[3:]), clock=clock),
    ]
    try:
        for runtime in runtimes:
            shared = runtime.client.transport.limiter.shared
            assert isinstance(shared, AppBudget) and shared.app == "4242"
        polls = [runtime.poll(a) for runtime, mine in zip(runtimes, (ids[:3], ids[3:]), strict=True) for a in mine]
        outcomes = await asyncio.wait_for(asyncio.gather(*polls), 120)
    finally:
        for runtime in runtimes:
            await runtime.close()
    assert all(o.summary is not None for o in outcomes)
    arrivals = list(sandbox.arrivals)
    assert all(a.code in (0, None) for a in arrivals), "the sandbox never had to throttle"
    assert max_in_window([a.t for a in arrivals], 1.0) <= MAX_QPS


async def test_shared_budget_false_keeps_the_budget_per_process(tmp_path: Path, sandbox: Sandbox, clock) -> None:
    runtime = await open_runtime(
        config(tmp_path, sandbox, [extra_advertiser_id(0)], "shared_budget = false\n"), clock=clock
    )
    try:
        assert runtime.client.transport.limiter.shared is None
    finally:
        await runtime.close()
