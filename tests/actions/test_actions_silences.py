"""Silences end to end: ``tiktok-monitor silence add`` (a subprocess, as a user runs it) stops the notification and
the action of an alert that fires against the sandbox; ``silence expire`` brings both at the next poll. And the
``silence`` commands' output, errors and help."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from actions_factories import ADV, CAMPAIGN, LIFETIME_CAMPAIGN, actions_in, outbox, rule, writes
from test_actions_cli import cli

from monitor.clock import FrozenClock
from monitor.domain import Level
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.store.repo import Store

STATUS_UPDATE = "campaign/status/update/"
WORLD_TIME = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # T0 of tests/conftest.py: campaign 1 has its 434 budget


@pytest.fixture
def clock() -> FrozenClock:
    """The real time: the command stamps a silence with the system clock, the polls read this one."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def sandbox(sandbox_settings: SandboxSettings) -> AsyncIterator[Sandbox]:
    """The sandbox's world at WORLD_TIME whatever the time (its budgets change on a calendar), polled at the real time."""
    sb = Sandbox(sandbox_settings, clock=FrozenClock(WORLD_TIME))
    async with sb.serve(host="127.0.0.1", port=0) as base_url:
        sb.base_url = base_url  # type: ignore[attr-defined]
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox) -> Path:
    """A config for the sandbox on the store of the ``store`` fixture (tmp_path/monitor.db)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[monitor]\nrules = "{tmp_path / "rules"}"\n'
    )
    return path


def now_after(clock: FrozenClock, minutes: float = 0) -> None:
    """Move the poll clock to the real time, and ``minutes`` beyond the last poll at least."""
    clock.set(max(datetime.now(UTC), clock.now() + timedelta(minutes=minutes)))


async def test_a_silence_stops_the_notice_and_action_of_a_firing_alert_and_its_expiry_brings_them(
    make_pipeline, store: Store, sandbox, config: Path, clock: FrozenClock
) -> None:
    rules = rule("big-budget", "budget > 100", '"pause"', ids=(CAMPAIGN, LIFETIME_CAMPAIGN))
    polls = make_pipeline(rules)
    code, out, err = await cli(
        "silence", "add", "--config", str(config), "rule=big-budget", f"entity={CAMPAIGN}", "--for", "2h",
        "--comment", "budget test", "--by", "alice",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith(f"silence #1 added: rule=big-budget entity={CAMPAIGN} until ") and out.endswith(
        " (2h), by alice: budget test\n"
    )

    now_after(clock)
    first = await polls.poll(ADV)
    # both alerts fire (the summary, like status, shows them), only the one the silence does not match is told
    assert sorted(first.transitions) == sorted(
        [
            f"firing big-budget campaign {CAMPAIGN} (muted: not notified, no action)",
            f"firing big-budget campaign {LIFETIME_CAMPAIGN}",
        ]
    )
    told = [e["id"] for m in await outbox(store, clock.now()) if m["type"] == "alert" for e in m["entities"]]
    assert told == [LIFETIME_CAMPAIGN]
    assert [a.planned.entity_id for a in first.actions] == [LIFETIME_CAMPAIGN] and writes(sandbox, STATUS_UPDATE) == 1
    state = (await store.alerts.load(ADV))[("big-budget", Level.CAMPAIGN, CAMPAIGN)]
    assert (state.state, state.withheld, state.last_notified_at) == ("firing", True, None)

    now_after(clock, 5)
    second = await polls.poll(ADV)  # still silenced: still nothing
    assert second.notifications == 0 and second.actions == () and writes(sandbox, STATUS_UPDATE) == 1

    code, out, err = await cli("silence", "list", "--config", str(config))
    assert code == 0, err
    header, line = out.splitlines()
    assert header.split() == ["id", "state", "starts", "(UTC)", "ends", "(UTC)", "by", "matchers", "comment"]
    assert line.split()[:2] == ["1", "active"] and line.endswith(
        f"alice  rule=big-budget entity={CAMPAIGN}  budget test"
    )

    code, out, err = await cli("silence", "expire", "--config", str(config), "1", "--by", "carol")
    assert code == 0, err
    assert out.startswith("silence #1 expired at ") and out.endswith(": its alerts notify and act again\n")
    expired = await store.silences.get(1)
    assert expired is not None and expired.expired_by == "carol"

    now_after(clock, 5)
    third = await polls.poll(ADV)  # still firing, no longer silenced: told and paused now
    assert third.notifications == 1 and [a.planned.entity_id for a in third.actions] == [CAMPAIGN]
    assert writes(sandbox, STATUS_UPDATE) == 2
    assert sandbox.world.operation_status(sandbox.world.find(CAMPAIGN), clock.now().timestamp()) == "DISABLE"
    messages = [m for m in await outbox(store, clock.now()) if m["type"] == "alert"]
    assert [e["id"] for e in messages[-1]["entities"]] == [CAMPAIGN] and messages[-1]["kind"] == "firing"
    assert actions_in(messages[-1:], "big-budget")[0]["outcome"] == "done"

    code, out, _ = await cli("silence", "list", "--config", str(config))
    assert (code, out) == (0, "no active or pending silences\n")
    code, out, _ = await cli("silence", "list", "--config", str(config), "--all")
    assert out.splitlines()[1].split()[:2] == ["1", "expired"]
    code, out, _ = await cli("silence", "expire", "--config", str(config), "1")
    assert code == 0 and out.startswith("silence #1 had already ended at ")
    code, _, err = await cli("silence", "expire", "--config", str(config), "7")
    assert (code, err) == (1, "no silence #7\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rule=x",), "say how long: --for 2h, or --until 2026-12-06T18:00Z (one of them)\n"),
        (("rule=x", "--for", "2h", "--until", "2030-01-01"), "say how long: --for 2h, or --until"),
        (("colour=red", "--for", "2h"), "unknown matcher 'colour': expected one of rule, advertiser, level"),
        (("rule=x", "--for", "soon"), "--for 'soon': "),
        (("rule=x", "--until", "2020-01-01T00:00Z"), "the silence would end at 2020-01-01 00:00 UTC, before it could"),
        (("rule=x", "--until", "tomorrow"), "--until 'tomorrow': expected a time like 2026-12-06T18:00Z"),
    ],
)
async def test_silence_add_refuses_what_it_cannot_make(config: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = await cli("silence", "add", "--config", str(config), *args)
    assert (code, out) == (2, "") and err.startswith(message)


async def test_silence_add_warns_of_a_rule_name_no_rule_has(tmp_path: Path, config: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text('[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 5"\n')
    code, out, err = await cli("silence", "add", "--config", str(config), "rule=overspnd", "--for", "1h", "--by", "bob")
    assert code == 0 and out.startswith("silence #1 added: rule=overspnd until ")
    assert err == "warning: no loaded rule is named 'overspnd': this silence mutes nothing until one is\n"


async def test_a_silence_that_starts_later_lists_as_pending(config: Path) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    code, out, err = await cli(
        "silence", "add", "--config", str(config), "level=ad", "name~*test*", "--start", start.isoformat(),
        "--for", "30m", "--by", "bob",
    )  # fmt: skip
    assert code == 0, err
    assert out == f"silence #1 added: level=ad name~*test* from {start:%Y-%m-%d %H:%M} UTC until " + (
        f"{start + timedelta(minutes=30):%Y-%m-%d %H:%M} UTC (30m), by bob\n"
    )
    code, out, _ = await cli("silence", "list", "--config", str(config))
    assert out.splitlines()[1].split()[:2] == ["1", "pending"]


async def test_each_silence_command_help_shows_an_example() -> None:
    for command in ("add", "list", "expire"):
        code, out, _ = await cli("silence", command, "--help")
        assert code == 0 and f"example: tiktok-monitor silence {command} --config config.toml" in out
