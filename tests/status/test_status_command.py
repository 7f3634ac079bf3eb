"""The status command in process: the stored silences (their ``to_json()``) land in the JSON,
and a broken rule file leaves the severities unknown and says so instead of failing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schema_check import load_schema, problems

from monitor.clock import FrozenClock
from monitor.config import load_settings
from monitor.domain import Level, Matcher, Silence
from monitor.domain.approvals import Approval, ApprovalState, PlannedChange
from monitor.status.command import run_status
from monitor.store.repo import Store

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def config(tmp_path: Path, rule: str) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(rule)
    path = tmp_path / "config.toml"
    path.write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["7000000000000000001"]\n'
        f'[monitor]\nrules = "rules"\n[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
    )
    return path


async def test_the_stored_silences_are_shown(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend > 1"\n'))
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        quiet = Silence((Matcher("rule", "r"),), NOW - timedelta(hours=1), NOW + timedelta(hours=2), "alice")
        added = await store.silences.add(quiet, NOW - timedelta(hours=1))
        over = Silence((Matcher("rule", "x"),), NOW - timedelta(hours=3), NOW - timedelta(hours=2), "bob")
        await store.silences.add(over, NOW - timedelta(hours=3))  # ended: not shown
    finally:
        await store.close()
    out = io.StringIO()
    assert await run_status(settings, as_json=True, clock=FrozenClock(NOW), out=out) == 0
    data = json.loads(out.getvalue())
    assert problems(data, load_schema()) == []
    assert data["silences"] == [added.to_json()]
    assert data["silences"][0]["created_by"] == "alice" and data["silences"][0]["id"] == 1
    assert [a["id"] for a in data["advertisers"]] == ["7000000000000000001"]  # configured, not polled yet
    assert data["advertisers"][0]["last_poll"] is None and data["notes"] == []
    assert data["replicas"] == [] and data["advertisers"][0]["polled_by"] is None  # no run


async def test_a_broken_rule_file_leaves_severities_unknown_and_says_so(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend >"\n'))
    out = io.StringIO()
    assert await run_status(settings, clock=FrozenClock(NOW), out=out) == 0
    text = out.getvalue()
    assert "silences (0)" in text
    assert text.endswith("note: the rule files have 1 problem(s) (tiktok-monitor check): severities unknown\n")


async def test_the_pending_approvals_are_shown_and_expired_or_decided_ones_are_not(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend > 1"\n'))
    adv = "7000000000000000001"
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")

    def asked(n: int, minutes: int) -> Approval:
        change = PlannedChange("set_budget", to=50.0, before={"budget": 100.0})
        ends = NOW + timedelta(minutes=minutes)
        return Approval(f"9-{n}", adv, "r", Level.CAMPAIGN, f"c{n}", None, change, {"spend": 2.0}, NOW, ends)

    try:
        async with store.poll(adv, NOW - timedelta(minutes=1)) as poll:
            poll.save_approvals([asked(1, 30), asked(2, -1), asked(3, 30)])
        await store.approvals.claim("9-3", ApprovalState.REJECTED, by="bob", now=NOW - timedelta(seconds=1))
    finally:
        await store.close()
    out = io.StringIO()
    assert await run_status(settings, as_json=True, clock=FrozenClock(NOW), out=out) == 0
    data = json.loads(out.getvalue())
    assert problems(data, load_schema()) == []
    [shown] = data["approvals"]
    assert (shown["id"], shown["action"]["type"], shown["action"]["to"]) == ("9-1", "set_budget", 50.0)
    text = io.StringIO()
    assert await run_status(settings, as_json=False, clock=FrozenClock(NOW), out=text) == 0
    assert "waiting for approval (1)\n  #9-1 set_budget to 50 campaign c1 (rule r, advertiser " in text.getvalue()
