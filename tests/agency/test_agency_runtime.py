"""Several tokens against the sandbox: one shared QPS budget, analyst-only advertisers, accounts that stop."""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.accounts import ANALYST_NOTE
from monitor.config import Settings, load_settings
from monitor.domain import Outcome
from monitor.once import run_once
from monitor.polls import PollResult
from monitor.sandbox import Sandbox
from monitor.sandbox.arrivals import max_in_window
from monitor.sandbox.business import ANALYST_ONLY_ADVERTISER_ID
from monitor.sandbox.settings import SandboxSettings, extra_advertiser_id
from monitor.sandbox.threaded import served_in_thread
from monitor.store.repo import Store
from monitor.wiring import open_runtime

APP_ID = "4242"
MAX_QPS = 20
RULE = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\n'
PAUSE = RULE.replace('"spending"', '"stop-spending"') + 'action = "pause"\n'


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(app_id=APP_ID, qps=1000, extra_advertisers=50)


@pytest.fixture
def sandbox(sandbox_settings: SandboxSettings, clock) -> Iterator[Sandbox]:
    """The sandbox in a thread of its own: its request log has the real arrival times, not the moments this
    test's busy event loop let its handler run (the QPS assertion reads them)."""
    sb = Sandbox(sandbox_settings, clock=clock)
    with served_in_thread(sb) as base_url:
        sb.base_url = base_url  # type: ignore[attr-defined]
        yield sb


def write_config(tmp_path: Path, tiktok: str, rule: str = RULE) -> Settings:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "a.toml").write_text(rule)
    (tmp_path / "config.toml").write_text(
        f'{tiktok}[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        '[webhook]\nurl = "http://127.0.0.1:9/unreachable"\n[notify]\nretry_first = "1h"\n'
    )
    return load_settings(tmp_path / "config.toml")


async def test_two_tokens_fifty_advertisers_share_one_qps_budget(tmp_path: Path, sandbox: Sandbox, clock) -> None:
    first = [extra_advertiser_id(i) for i in range(25)]
    second = [extra_advertiser_id(i) for i in range(25, 50)]
    token_a, token_b = sandbox.issue_token(first), sandbox.issue_token(second)
    ids_b = ", ".join(f'"{a}"' for a in second)
    settings = write_config(
        tmp_path,
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\napp_id = "{APP_ID}"\nsecret = "sandbox-secret"\n'
        f"max_qps = {MAX_QPS}\n"
        f'[[tiktok.accounts]]\nname = "a"\naccess_token = "{token_a}"\n'  # discovery
        f'[[tiktok.accounts]]\nname = "b"\naccess_token = "{token_b}"\nadvertiser_ids = [{ids_b}]\n',
    )
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert "50 advertiser(s), 0 failed" in out.getvalue()
    arrivals = list(sandbox.arrivals)
    assert max_in_window([a.t for a in arrivals], 1.0) <= MAX_QPS
    assert all(a.code in (0, None) for a in arrivals)
    polled = {a.advertiser_id for a in arrivals if a.path == "campaign/get/"}
    assert polled == set(first + second)


async def test_analyst_only_advertiser_gets_dry_runs(tmp_path: Path, sandbox: Sandbox, clock, caplog) -> None:
    settings = write_config(
        tmp_path,
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ANALYST_ONLY_ADVERTISER_ID}", "7000000000000000002"]\n',
        PAUSE,
    )
    runtime = await open_runtime(settings, clock=clock)
    try:
        with caplog.at_level(logging.WARNING, logger="monitor.runtime"):
            assert await runtime.advertiser_ids() == [ANALYST_ONLY_ADVERTISER_ID, "7000000000000000002"]
        assert "rule 'stop-spending' (pause) will only dry-run on 7000000000000000004" in caplog.text
        summary = (await runtime.poll(ANALYST_ONLY_ADVERTISER_ID)).summary
        assert summary.actions
        assert all(t.outcome is Outcome.DRY_RUN and ANALYST_NOTE in t.reason for t in summary.actions)
        assert not [a for a in sandbox.arrivals if a.path.endswith("/update/status/")]
        writable = (await runtime.poll("7000000000000000002")).summary  # OPERATOR: actions go through
        assert any(t.outcome is Outcome.DONE for t in writable.actions)
    finally:
        await runtime.close()


async def ops_rows(settings: Settings) -> list[tuple[str, str, bool]]:
    store = await Store.open(settings.storage.url)
    try:
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=3650))
    finally:
        await store.close()
    return [
        (row.payload["kind"], row.payload["subject"], row.payload["recovered"])
        for row in rows
        if row.payload["type"] == "ops"
    ]


async def test_limited_account_is_told_once_paused_and_resumes(tmp_path: Path, sandbox: Sandbox, clock) -> None:
    adv = "7000000000000000001"
    settings = write_config(
        tmp_path,
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{adv}"]\n',
    )
    runtime = await open_runtime(settings, clock=clock)
    try:
        assert (await runtime.poll(adv)).paused is None
        sandbox.set_advertiser_status(adv, "STATUS_LIMIT")
        clock.advance(25 * 3600)  # advertiser/info is read again daily
        first = await runtime.poll(adv)
        assert first.paused == "account status STATUS_LIMIT"
        sandbox.arrivals.clear()
        clock.advance(600)
        assert (await runtime.poll(adv)).paused  # still paused, told once, and nothing polled meanwhile
        assert sandbox.arrivals == []
        clock.advance(3600)  # the hourly check: still limited
        assert (await runtime.poll(adv)).paused
        assert [a.path for a in sandbox.arrivals] == ["advertiser/info/"]
        sandbox.set_advertiser_status(adv, "STATUS_ENABLE")
        clock.advance(3600)
        resumed = await runtime.poll(adv)
        assert resumed.paused is None and resumed.summary.entities > 0
    finally:
        await runtime.close()
    assert await ops_rows(settings) == [("account_limited", adv, False), ("account_limited", adv, True)]


async def test_lost_authorization_is_told_once_paused_and_retried_with_back_off(
    tmp_path: Path, sandbox: Sandbox, clock
) -> None:
    adv = "7000000000000000001"
    settings = write_config(
        tmp_path,
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{adv}"]\n',
    )
    runtime = await open_runtime(settings, clock=clock)
    try:
        assert (await runtime.poll(adv)).paused is None
        sandbox.revoke_token()
        clock.advance(25 * 3600)
        failed = await runtime.poll(adv)
        assert failed.result is PollResult.FAILED and "re-authorize" in failed.reason
        sandbox.arrivals.clear()
        clock.advance(30)
        paused = await runtime.poll(adv)
        assert paused.paused and "re-authorize" in paused.paused
        assert sandbox.arrivals == []  # a dead token is not tried every interval
        tries = []
        for _ in range(8):  # re-checked after 1, 2, 4, ... minutes, never more than hourly
            clock.advance(60)
            if (await runtime.poll(adv)).result is PollResult.FAILED:
                tries.append(clock.now())
        assert [(b - a).total_seconds() for a, b in itertools.pairwise(tries)] == [120, 240]
        assert [a.path for a in sandbox.arrivals] == ["advertiser/info/"] * 3
        sandbox.restore_token()
        clock.advance(8 * 60)  # the next re-check finds the new authorization
        resumed = await runtime.poll(adv)
        assert resumed.paused is None and resumed.summary.entities > 0
    finally:
        await runtime.close()
    assert await ops_rows(settings) == [("token_revoked", adv, False), ("token_revoked", adv, True)]


async def test_a_restored_token_is_found_within_a_minute(tmp_path: Path, sandbox: Sandbox, clock) -> None:
    adv = "7000000000000000001"
    settings = write_config(
        tmp_path,
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{adv}"]\n',
    )
    runtime = await open_runtime(settings, clock=clock)
    try:
        assert (await runtime.poll(adv)).ok
        sandbox.revoke_token()
        clock.advance(25 * 3600)
        assert (await runtime.poll(adv)).result is PollResult.FAILED
        clock.advance(5)
        sandbox.restore_token()  # the token works again from here
        polls = []
        for _ in range(12):  # polled every 5 s, as with a short interval
            clock.advance(5)
            polls.append(await runtime.poll(adv))
        first_ok = next(i for i, outcome in enumerate(polls) if outcome.ok)
        assert (first_ok + 1) * 5 <= 60  # within a minute of the token working again
        assert all(outcome.paused for outcome in polls[:first_ok])  # paused until then, not hammering the API
    finally:
        await runtime.close()
