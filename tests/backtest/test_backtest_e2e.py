"""The daemon's week and the backtest of it: the real Pipeline polls the sandbox every 4 hours for 7 simulated
days (a frozen clock moved on between polls, a person re-enabling a paused campaign on the way), then
``tiktok-monitor backtest --json`` runs as a subprocess over the same database with the same rules and must
report the firings, resolutions and pauses the daemon made, at the same polls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from polling import PipelinePolls

from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.breaker import Breaker
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.store.repo import Store
from monitor.store.values import ActionStatus

REPO = Path(__file__).resolve().parents[2]
ADV = "7000000000000000001"  # America/New_York, USD; 15:00 local at T0
CAMPAIGN = "1801100000000000001"  # daily budget 434, about 432 spent today at T0

RULES = f"""
[[rule]]
name = "overspend"
level = "campaign"
when = "spend > 300"
notify = ["slack"]
notify_resolved = true
action = "pause"
[rule.match]
ids = ["{CAMPAIGN}"]

[[rule]]
name = "spending"
level = "campaign"
when = "spend > 50"
for = "4h"
notify = ["slack"]
notify_resolved = true
"""

POLLS_PER_DAY = 6
DAYS = 7


def backtest(config: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "backtest", "--config", str(config), *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_a_backtest_of_a_stored_week_reports_what_the_daemon_did(sandbox, make_client, clock, tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "rules.toml").write_text(RULES)
    database = tmp_path / "monitor.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\naccess_token = "t"\nadvertiser_ids = ["{ADV}"]\n'
        f'[monitor]\nrules = "{rules_dir}"\ninterval = "4h"\n[slack]\ntoken = "xoxb-x"\nchannel = "#a"\n[storage]\nurl = "sqlite:///{database}"\n'
    )
    start = clock.now()
    store = await Store.open(f"sqlite:///{database}", clock=clock)
    try:
        ruleset = load_rules(rules_dir, channels={"slack"})
        client = make_client()
        settings = GuardSettings()
        runner = ActionRunner(client, store.journal, clock, settings, breaker=Breaker(store.breaker, clock, settings))
        polls = PipelinePolls(
            Pipeline(client=client, store=store, rules=lambda: ruleset, clock=clock, actions=runner), clock
        )
        transitions: Counter[tuple[str, str, str, str]] = Counter()
        taken: list[tuple[str, str, str, str, str]] = []
        for i in range(DAYS * POLLS_PER_DAY):
            if i == 10:  # Nov 26 12:00 UTC: a person re-enables the campaign the monitor paused
                world = sandbox.world
                world.set_status(world.find(CAMPAIGN), "ENABLE", clock.now().timestamp())
            summary = await polls.poll(ADV)
            at = clock.now().isoformat()
            for line in summary.transitions:
                kind, rule, _level, entity = line.split()
                transitions[(kind, rule, entity, at)] += 1
            taken += [
                (at, t.planned.rule or "", t.planned.entity_id, t.planned.type, t.outcome.value)
                for t in summary.actions
            ]
            clock.advance(timedelta(hours=24 / POLLS_PER_DAY).total_seconds())
        journal = await store.journal.history(limit=None)
    finally:
        await store.close()

    stored = database.read_bytes()
    since = (start - timedelta(minutes=1)).isoformat()
    report = json.loads(backtest(config, "--since", since, "--json"))
    table = backtest(config, "--since", since, "--advertiser", ADV)
    assert database.read_bytes() == stored  # nothing was written
    [blocked_line] = [line for line in table.splitlines() if "blocked: pause (manual override" in line]
    assert blocked_line.startswith("2026-11-27 00:00  2026-11-27 12:00  overspend  campaign " + CAMPAIGN)
    assert table.splitlines()[-1] == "5 firings (5 notified, 2 resolved); actions: 1 blocked, 2 would do"

    # the scenario is not trivial: pauses done, one blocked by the person's override, episodes that resolved
    outcomes = Counter(t[4] for t in taken)
    assert outcomes["done"] >= 2 and outcomes["skipped"] >= 1, taken
    assert sum(1 for k in transitions if k[0] == "resolved") >= 2
    assert report["polls"] == DAYS * POLLS_PER_DAY and report["advertisers"] == [ADV]

    replayed: Counter[tuple[str, str, str, str]] = Counter()
    repeats: Counter[tuple[str, str]] = Counter()
    for firing in report["firings"]:
        replayed[("firing", firing["rule"], firing["entity_id"], firing["fired_at"])] += 1
        if firing["resolved_at"] is not None:
            replayed[("resolved", firing["rule"], firing["entity_id"], firing["resolved_at"])] += 1
        repeats[(firing["rule"], firing["entity_id"])] += firing["repeats"]
    daemon_repeats: Counter[tuple[str, str]] = Counter()
    for (kind, rule, entity, _at), n in transitions.items():
        if kind == "repeat":
            daemon_repeats[(rule, entity)] += n
    assert replayed == Counter({k: n for k, n in transitions.items() if k[0] != "repeat"})
    assert +repeats == daemon_repeats

    would = {"would do": "done", "blocked": "skipped", "dry run": "dry run"}
    assert [(a["at"], a["rule"], a["entity_id"], a["type"], would[a["outcome"]]) for a in report["actions"]] == taken
    blocked = [a for a in report["actions"] if a["outcome"] == "blocked"]
    assert all(a["reason"].startswith("manual override: ") for a in blocked)
    # the pauses the daemon journaled are the backtest's "would do" ones
    pauses = sorted(
        (e.created_at.isoformat(), e.intent.entity_id) for e in journal if e.status is ActionStatus.SUCCEEDED
    )
    assert pauses == [(a["at"], a["entity_id"]) for a in report["actions"] if a["outcome"] == "would do"]
    for firing in report["firings"]:
        action = firing["action"]
        assert (action is not None) == (firing["rule"] == "overspend")


def test_backtest_help_shows_an_example():
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "backtest", "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    assert "example: tiktok-monitor backtest --config config.toml --rules rules/ --since 7d" in result.stdout
    assert "nothing is written" in result.stdout
