"""The replay itself, on snapshots made here: what the backtest "did" counts for later guards (the circuit
breaker's writes, its opening and reset), dry-run rules stay dry runs, and ``for`` delays a firing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.actions import GuardSettings
from monitor.backtest.model import Report
from monitor.backtest.replay import replay
from monitor.domain import EntityState, Level, Snapshot
from monitor.rules.loader import load_rules
from monitor.rules.model import RuleSet

ADV = "7000000000000000001"
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York


def campaign(entity_id: str, spend: float) -> EntityState:
    return EntityState(
        level=Level.CAMPAIGN,
        id=entity_id,
        advertiser_id=ADV,
        name=f"campaign {entity_id}",
        operation_status="ENABLE",
        secondary_status="CAMPAIGN_STATUS_ENABLE",
        budget=1000.0,
        budget_mode="BUDGET_MODE_DAY",
        metrics={"today": {"spend": spend}},
    )


async def polls(
    *spends: dict[str, float], every: timedelta = timedelta(minutes=10)
) -> AsyncIterator[tuple[Snapshot, bool]]:
    """One snapshot per mapping (campaign id -> spend), ``every`` apart from T0."""
    for i, spend in enumerate(spends):
        states = {(Level.CAMPAIGN, cid): campaign(cid, s) for cid, s in spend.items()}
        yield Snapshot(ADV, i + 1, T0 + i * every, states), True


def rules(tmp_path: Path, text: str) -> RuleSet:
    (tmp_path / "rules.toml").write_text(text)
    return load_rules(tmp_path / "rules.toml", channels=())


PAUSE = '[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 100"\naction = "pause"\n'


async def run(ruleset: RuleSet, snapshots: AsyncIterator[tuple[Snapshot, bool]], settings: GuardSettings) -> Report:
    report = Report(since=T0)
    await replay(ruleset, snapshots, zone=UTC, currency="USD", settings=settings, report=report, advertiser_id=ADV)
    return report


async def test_the_backtests_own_writes_open_the_circuit_breaker_until_it_resets(tmp_path):
    settings = GuardSettings(max_writes=2, window=timedelta(minutes=30), breaker_reset=timedelta(hours=1))
    low = {"1": 0.0, "2": 0.0, "3": 0.0, "4": 0.0}
    report = await run(
        rules(tmp_path, PAUSE),
        polls(
            {**low, "1": 200.0},  # 15:00 one write
            {**low, "1": 200.0, "2": 200.0},  # 15:10 a second write: 2 within the window, the limit
            {**low, "1": 200.0, "2": 200.0, "3": 200.0},  # 15:20 a third would pass max_writes: opens
            {**low, "1": 200.0, "2": 200.0, "3": 0.0, "4": 0.0},  # 15:30
            *[{**low, "1": 200.0, "2": 200.0}] * 4,  # to 16:10
            {**low, "1": 200.0, "2": 200.0, "4": 200.0},  # 16:20: the breaker closed at 16:20 by itself
        ),
        settings,
    )
    assert [(a.at - T0, a.entity_id, a.outcome) for a in report.actions] == [
        (timedelta(minutes=0), "1", "would do"),
        (timedelta(minutes=10), "2", "would do"),
        (timedelta(minutes=20), "3", "blocked"),
        (timedelta(minutes=80), "4", "would do"),
    ]
    assert report.actions[2].reason.startswith(
        "circuit breaker open since 2026-11-24 15:20 UTC: 2 writes within 30m and 1 more asked, more than max_writes = 2"
    )
    assert report.polls == 9


async def test_a_dry_run_rule_says_dry_run_and_its_runs_do_not_count_as_writes(tmp_path):
    settings = GuardSettings(max_writes=1)
    ruleset = rules(tmp_path, PAUSE + "dry_run = true\n")
    report = await run(ruleset, polls({"1": 200.0}, {"1": 200.0, "2": 200.0}), settings)
    assert [(a.entity_id, a.outcome) for a in report.actions] == [("1", "dry run"), ("2", "dry run")]
    assert report.actions[0].reason == "would do: operation_status ENABLE -> DISABLE (the rule is a dry run)"


async def test_for_delays_the_firing_and_a_false_condition_twice_resolves_it(tmp_path):
    ruleset = rules(tmp_path, '[[rule]]\nname = "hot"\nlevel = "campaign"\nwhen = "spend > 100"\nfor = "20m"\n')
    report = await run(
        ruleset,
        polls({"1": 200.0}, {"1": 200.0}, {"1": 200.0}, {"1": 50.0}, {"1": 50.0}),
        GuardSettings(),
    )
    [firing] = report.firings
    assert (firing.fired_at - T0, firing.resolved_at and firing.resolved_at - T0) == (
        timedelta(minutes=20),
        timedelta(minutes=40),
    )
    assert dict(firing.values) == {"spend": 200.0} and firing.notified and firing.action is None


async def test_rules_the_stored_history_cannot_decide_are_named(tmp_path):
    ruleset = rules(
        tmp_path,
        '[[rule]]\nname = "ads"\nlevel = "ad"\nwhen = "spend > 1"\n'
        '[[rule]]\nname = "yesterday"\nlevel = "campaign"\nwhen = "yesterday.spend > 1"\n'
        '[[rule]]\nname = "fine"\nlevel = "campaign"\nwhen = "spend > 1000"\n',
    )
    report = await run(ruleset, polls({"1": 200.0}, {"1": 200.0}), GuardSettings())
    assert report.warnings == [
        f"rule 'ads': no ad of advertiser {ADV} in the stored history",
        f"rule 'yesterday': no data for what it reads in the stored history of advertiser {ADV} (the rules that "
        "ran did not fetch that window or metric)",
    ]
    assert report.firings == []


async def test_pace_is_replayed_at_each_snapshots_own_time_and_currency_scopes(tmp_path):
    # UTC here: T0 is 15:00, 15/24 of the day. 700 of 1000 -> pace 1.12; at 15:10, 800 -> 1.27 (fires)
    ruleset = rules(
        tmp_path,
        '[[rule]]\nname = "overpacing"\nlevel = "campaign"\nwhen = "pace > 1.2"\n'
        '[[rule]]\nname = "nzd-only"\nlevel = "campaign"\nwhen = "projected_spend > 0"\n'
        '[rule.match]\ncurrencies = ["NZD"]\n',
    )
    report = await run(ruleset, polls({"1": 700.0}, {"1": 800.0}), GuardSettings())
    [firing] = report.firings
    assert (firing.rule, firing.fired_at - T0) == ("overpacing", timedelta(minutes=10))
    assert firing.values["pace"] == pytest.approx(0.8 / ((15 + 10 / 60) / 24))


async def test_an_hourly_rule_is_replayed_from_the_stored_hourly_windows(tmp_path):
    ruleset = rules(tmp_path, '[[rule]]\nname = "hot-hour"\nlevel = "campaign"\nwhen = "last_hour.spend > 50"\n')

    async def hourly() -> AsyncIterator[tuple[Snapshot, bool]]:
        for i, spent in enumerate([40.0, None, 60.0]):  # None: the hour TikTok had not reported
            state = replace(campaign("1", 100.0), metrics={"last_hour": {"spend": spent}})
            yield Snapshot(ADV, i + 1, T0 + i * timedelta(hours=1), {(Level.CAMPAIGN, "1"): state}), True

    report = await run(ruleset, hourly(), GuardSettings())
    [firing] = report.firings
    assert (firing.rule, firing.fired_at - T0, firing.values["last_hour.spend"]) == (
        "hot-hour",
        timedelta(hours=2),
        60.0,
    )
