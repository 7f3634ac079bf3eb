"""``tiktok-monitor approvals list | approve | reject`` as a user runs them (a subprocess) on a store where a rule
with ``approve`` fired against the sandbox: the list shows the waiting action, approve writes it once and the
journal (``history``) records who approved; a second decision is refused with exit 1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from actions_factories import ADV, CAMPAIGN, rule, writes
from test_actions_cli import cli

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.store.repo import Store

WORLD_TIME = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # campaign 1 has its 434 budget
RULES = rule("big-budget", "budget > 100", '"pause"', extra="approve = true")


@pytest.fixture
def clock() -> FrozenClock:
    """The real time: the command decides with the system clock, the poll reads this one."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def sandbox(sandbox_settings: SandboxSettings) -> AsyncIterator[Sandbox]:
    sb = Sandbox(sandbox_settings, clock=FrozenClock(WORLD_TIME))
    async with sb.serve(host="127.0.0.1", port=0) as base_url:
        sb.base_url = base_url  # type: ignore[attr-defined]
        yield sb


@pytest.fixture
def config(tmp_path: Path, sandbox) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
        f'[monitor]\nrules = "{tmp_path / "rules"}"\n'
    )
    return path


async def test_list_then_approve_from_the_command_line_writes_once_and_history_names_who(
    make_pipeline, store: Store, sandbox, config: Path
) -> None:
    [taken] = (await make_pipeline(RULES).poll(ADV)).actions
    approval_id = taken.approval_id
    assert approval_id is not None and writes(sandbox, "campaign/status/update/") == 0

    code, out, err = await cli("approvals", "list", "--config", str(config))
    assert (code, err) == (0, "")
    header, line, footer = out.splitlines()
    assert header.split() == ["id", "state", "expires", "(UTC)", "advertiser", "rule", "action", "entity"]
    assert line.split()[:2] == [approval_id, "pending"]
    assert line.split()[4:] == [
        ADV,
        "big-budget",
        "pause",
        "campaign",
        CAMPAIGN,
        '"Summer',
        "Sale",
        "–",
        'Prospecting"',
    ]
    assert footer.startswith("approve with: tiktok-monitor approvals approve ID")

    code, out, err = await cli("approvals", "approve", "--config", str(config), approval_id, "--by", "alice")
    assert (code, err) == (0, "")
    assert out.startswith(f"approval #{approval_id} pause campaign {CAMPAIGN}") and "approved by alice: done" in out
    assert writes(sandbox, "campaign/status/update/") == 1
    [entry] = await store.journal.history()
    assert entry.intent.approved_by == "alice"

    code, out, err = await cli("approvals", "reject", "--config", str(config), approval_id, "--by", "bob")
    assert (code, out) == (1, "") and f"not rejected: approval #{approval_id} was already approved by alice" in err
    code, out, err = await cli("approvals", "list", "--config", str(config), "--all")
    assert code == 0 and "approved" in out and "alice" in out and "done:" in out
    code, out, err = await cli("approvals", "list", "--config", str(config))
    assert (code, out) == (0, "no actions waiting for approval\n")
