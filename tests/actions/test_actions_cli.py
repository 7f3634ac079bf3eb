"""`tiktok-monitor history` and `tiktok-monitor revert ID` as a user runs them: subprocesses against the sandbox
(run without blocking the loop that serves it) and the SQLite store a pipeline wrote its journal to."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_factories import ADV, CAMPAIGN, rule
from commands import cli
from polling import PipelinePolls

from monitor.actions import ActionRunner
from monitor.clock import FrozenClock
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.store.repo import Store


@pytest.fixture
async def journaled(tmp_path: Path, sandbox, make_client, clock: FrozenClock) -> tuple[Path, int]:
    """A config for the sandbox, and a store whose journal holds one pause (returned: its id)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(rule("overspend", "spend > 300", '"pause"'))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
    )
    store = await Store.open(f"sqlite:///{tmp_path / 'm.db'}", clock=clock)
    try:
        client = make_client()
        ruleset = load_rules(tmp_path / "rules", channels={"slack"})
        runner = ActionRunner(client, store.journal, clock)
        pipeline = Pipeline(client=client, store=store, rules=lambda: ruleset, clock=clock, actions=runner)
        [taken] = (await PipelinePolls(pipeline, clock).poll(ADV)).actions
    finally:
        await store.close()
    assert taken.journal_id is not None
    return config, taken.journal_id


async def test_history_lists_the_journal_with_filters(journaled: tuple[Path, int]) -> None:
    config, entry_id = journaled
    code, out, err = await cli("history", "--config", str(config))
    assert code == 0, err
    header, line = out.splitlines()[:2]
    assert header.split() == ["id", "time", "(UTC)", "rule", "action", "entity", "before", "->", "after", "outcome",
                              "request_id"]  # fmt: skip
    assert line.split()[:9] == [str(entry_id), "2026-11-24", "20:00:00", "overspend", "pause", "campaign", CAMPAIGN,
                                "ENABLE", "->"]  # fmt: skip
    assert "DISABLE  succeeded" in line
    code, out, _ = await cli("history", "--config", str(config), "--entity", CAMPAIGN, "--since", "2026-11-24T00:00Z",
                             "--reasons")  # fmt: skip
    assert code == 0 and "why: rule overspend: spend > 300: spend = " in out
    for args in (("--rule", "other"), ("--since", "2026-11-25"), ("--entity", "1")):
        code, out, _ = await cli("history", "--config", str(config), *args)
        assert (code, out) == (0, "no journaled actions match\n")
    code, _, err = await cli("history", "--config", str(config), "--since", "yesterday-ish")
    assert code == 2 and "--since 'yesterday-ish': expected a time like 2026-11-24T00:00Z" in err


async def test_revert_restores_the_before_state_through_the_guards(journaled: tuple[Path, int], sandbox, clock) -> None:
    config, entry_id = journaled
    campaign = sandbox.world.find(CAMPAIGN)
    code, out, err = await cli("revert", "--config", str(config), str(entry_id), "--dry-run")
    assert code == 0, err
    assert "dry run" in out and "would do: operation_status DISABLE -> ENABLE (--dry-run)" in out
    assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "DISABLE"
    code, out, err = await cli("revert", "--config", str(config), str(entry_id), "--by", "alice")
    assert code == 0, err
    assert out.startswith(f"#{entry_id} pause campaign {CAMPAIGN}: reverted (journal #")
    assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "ENABLE"
    code, _, err = await cli("revert", "--config", str(config), str(entry_id))
    assert code == 1 and "already reverted" in err
    code, out, _ = await cli("history", "--config", str(config))
    assert f"enable (revert #{entry_id})" in out and "DISABLE -> ENABLE" in out
    code, out, _ = await cli("history", "--config", str(config), "--reasons")
    assert "pause by rule overspend undone on request of alice" in out  # who asked is journaled


async def test_history_and_revert_help_show_examples() -> None:
    for command in ("history", "revert"):
        code, out, _ = await cli(command, "--help")
        assert code == 0 and f"example: tiktok-monitor {command} --config config.toml" in out
