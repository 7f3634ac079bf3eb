"""The fleet-wide circuit breaker (issue 14, item 4), end to end against the sandbox: twelve advertisers each
asking one pause with ``max_writes = 10``, through ``once`` (its whole cycle shares the database's count) and
through the runtime polling advertisers; writes resume only after ``tiktok-monitor actions resume`` or once
``breaker_reset`` has passed (an injected clock)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import FrozenClock
from monitor.config import Settings, load_settings
from monitor.domain import Outcome
from monitor.journal_commands import run_actions
from monitor.once import run_once
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.store.repo import Store
from monitor.store.values import ActionStatus
from monitor.wiring import open_runtime

ADVERTISERS = [extra_advertiser_id(i) for i in range(12)]
STATUS_WRITES = "campaign/status/update/"


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(qps=1000, extra_advertisers=12)


def pause_rule(name: str) -> str:
    return (
        f'[[rule]]\nname = "{name}"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["webhook"]\naction = "pause"\n'
    )


def write_config(tmp_path: Path, base_url: str, rule: str, actions: str = "max_writes = 10\n") -> Path:
    """Twelve advertisers, a rule that asks one pause of each; messages stay in the outbox (the webhook is
    unreachable and retried only after an hour), to be read."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "a.toml").write_text(rule)
    ids = ", ".join(f'"{a}"' for a in ADVERTISERS)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{ids}]\n'
        f"max_qps = 1000\n"
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        f'[webhook]\nurl = "http://127.0.0.1:9/unreachable"\n[notify]\nretry_first = "1h"\n'
        f"[actions]\n{actions}"
    )
    return path


def status_writes(sandbox: Sandbox) -> list[str]:
    """The advertisers whose campaign status was written, in order."""
    return [a.advertiser_id for a in sandbox.arrivals if a.path == STATUS_WRITES]


async def breaker_messages(settings: Settings) -> list[dict[str, Any]]:
    store = await Store.open(settings.storage.url)
    try:
        rows = await store.outbox.fetch_due(datetime.now(UTC) + timedelta(days=3650), limit=1000)
    finally:
        await store.close()
    return [r.payload for r in rows if r.payload["type"] == "ops" and r.payload["subject"] == "circuit-breaker"]


async def journal(settings: Settings) -> list[Any]:
    store = await Store.open(settings.storage.url)
    try:
        return await store.journal.history(limit=None)
    finally:
        await store.close()


async def test_once_makes_at_most_max_writes_tells_once_and_writes_again_only_after_actions_resume(
    tmp_path: Path, sandbox: Sandbox, clock: FrozenClock
) -> None:
    config = write_config(tmp_path, sandbox.base_url, pause_rule("stop-spending"))
    settings = load_settings(config)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0  # every advertiser was watched
    written = status_writes(sandbox)
    assert len(written) == 10 and len(set(written)) == 10
    held_back = sorted(set(ADVERTISERS) - set(written))
    assert len(held_back) == 2
    entries = await journal(settings)
    assert len(entries) == 10 and {e.status for e in entries} == {ActionStatus.SUCCEEDED}
    assert "circuit breaker OPEN: " in out.getvalue() and "2 action(s) held back" in out.getvalue()
    assert out.getvalue().count(": skipped: circuit breaker open since 2026-11-24 20:00 UTC: ") == 2
    [told] = await breaker_messages(settings)
    assert told["kind"] == "actions_held"
    assert "more than max_writes = 10" in told["detail"] and "tiktok-monitor actions resume" in told["detail"]
    assert "Held back (2): " in told["detail"]
    for advertiser_id in held_back:  # the held-back entities are named
        assert f"of advertiser {advertiser_id} (rule stop-spending)" in told["detail"]

    # a new ask while the breaker is open is held back too, and people are not told again
    (tmp_path / "rules" / "a.toml").write_text(pause_rule("stop-spending-again"))
    clock.advance(300)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert len(status_writes(sandbox)) == 10
    assert out.getvalue().count(": skipped: circuit breaker open since ") == 2
    assert len(await breaker_messages(settings)) == 1

    # a person resumes: writes go out again (the held-back actions are not replayed; a rule firing anew acts)
    printed = io.StringIO()
    assert await run_actions(settings, "resume", by="alice", clock=clock, out=printed) == 0
    assert printed.getvalue().startswith("circuit breaker closed by alice at 2026-11-24 20:05:00 UTC")
    (tmp_path / "rules" / "a.toml").write_text(pause_rule("stop-spending-after-resume"))
    clock.advance(60)
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert sorted(status_writes(sandbox)[10:]) == held_back
    assert "circuit breaker OPEN" not in out.getvalue()
    assert len(await breaker_messages(settings)) == 1


async def test_the_runtime_polling_advertisers_stops_at_max_writes_until_breaker_reset_passes(
    tmp_path: Path, sandbox: Sandbox, clock: FrozenClock
) -> None:
    config = write_config(
        tmp_path, sandbox.base_url, pause_rule("stop-spending"), 'max_writes = 10\nbreaker_reset = "1h"\n'
    )
    settings = load_settings(config)
    runtime = await open_runtime(settings, clock=clock)
    try:
        outcomes = await asyncio.gather(*(runtime.poll(a) for a in ADVERTISERS))
        taken = [t for o in outcomes for t in o.summary.actions]
        assert sorted(t.outcome.value for t in taken) == ["done"] * 10 + ["skipped"] * 2
        assert len(status_writes(sandbox)) == 10
        assert (await runtime.breaker.tell(runtime.ops_channels)) is not None
        assert (await runtime.breaker.tell(runtime.ops_channels)) is None  # once per opening
        status = await runtime.breaker.status()
        assert status.is_open and status.writes == 10

        # half an hour later a new ask is still held back
        (tmp_path / "rules" / "a.toml").write_text(pause_rule("later"))
        await runtime.reload_rules(force=True)
        clock.advance(1800)
        outcomes = await asyncio.gather(*(runtime.poll(a) for a in ADVERTISERS))
        skipped = [t for o in outcomes for t in o.summary.actions if t.outcome is Outcome.SKIPPED]
        held = [t for t in skipped if t.reason.startswith("circuit breaker open since 2026-11-24 20:00 UTC")]
        assert len(skipped) == 12 and len(held) == 2  # the ten paused ones: "already paused"
        assert all("breaker_reset = 1h" in t.reason for t in held)
        assert len(status_writes(sandbox)) == 10

        # once breaker_reset has passed since it opened, it is closed and writes go out
        (tmp_path / "rules" / "a.toml").write_text(pause_rule("after-reset"))
        await runtime.reload_rules(force=True)
        clock.advance(1801)
        assert not (await runtime.breaker.status()).is_open
        outcomes = await asyncio.gather(*(runtime.poll(a) for a in ADVERTISERS))
        done = [t for o in outcomes for t in o.summary.actions if t.outcome is Outcome.DONE]
        assert len(done) == 2 and len(status_writes(sandbox)) == 12
        [episode] = await runtime.store.breaker.episodes()
        assert episode.closed_by == "breaker_reset" and episode.closed_at == episode.opened_at + timedelta(hours=1)
        assert episode.held_count == 4
    finally:
        await runtime.close()
    assert len(await breaker_messages(settings)) == 1
