"""explain_rule, the pure explanation: values read with names, the result (true / false / no data naming the
missing value) and the lifecycle's reason (pending k of N min, firing, in cooldown, held, dry run, silenced)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.domain import AlertState, EntityState, Hold, Level, Snapshot
from monitor.preview.explain import Result, explain_rule
from monitor.preview.explain_table import render_table, rule_header
from monitor.rules.engine import evaluate
from monitor.rules.expr import compile_when
from monitor.rules.model import Action, Rule

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ADV = "7000000000000000001"
SPENDING, SILENT, CHEAP = "1801100000000000001", "1801100000000000002", "1801100000000000003"


def rule(when: str, **options: object) -> Rule:
    return Rule("overspend", Level.CAMPAIGN, compile_when(when, level=Level.CAMPAIGN), **options)  # type: ignore[arg-type]


def campaign(entity_id: str, name: str, **today: float) -> EntityState:
    metrics = {"today": today} if today else {}
    return EntityState(Level.CAMPAIGN, entity_id, ADV, name, "ENABLE", budget=500.0, budget_mode="BUDGET_MODE_DAY",
                       metrics=metrics)  # fmt: skip


def snapshot(*entities: EntityState, taken_at: datetime = NOW) -> Snapshot:
    return Snapshot(ADV, 1, taken_at, {e.key: e for e in entities})


CURRENT = snapshot(
    campaign(SPENDING, "Summer Sale", spend=612.5, conversion=0),
    campaign(SILENT, "Brand Awareness Q3"),  # no report row: no data
    campaign(CHEAP, "Retargeting", spend=12.0, conversion=3),
)


def alert(state: str, since: datetime, last: datetime | None = None, entity_id: str = SPENDING) -> AlertState:
    return AlertState("overspend", ADV, Level.CAMPAIGN, entity_id, state, since, last)


def by_id(explanations):
    return {e.entity.id: e for e in explanations}


def test_true_false_and_no_data_naming_the_missing_values():
    found = by_id(explain_rule(rule("spend > 500 and conversion == 0"), CURRENT, None, {}, [], NOW))
    assert found[SPENDING].values == (("spend", 612.5), ("conversion", 0))
    assert (found[SPENDING].result, found[SPENDING].state) == (Result.TRUE, "firing")
    assert found[SPENDING].why == ("spend > 500 and conversion == 0 is true", "would fire now: notify")
    assert (found[CHEAP].result, found[CHEAP].state, found[CHEAP].why) == (
        Result.FALSE,
        "inactive",
        ("spend > 500 and conversion == 0 is false",),
    )
    silent = found[SILENT]
    assert (silent.result, silent.missing, silent.why) == (
        Result.NO_DATA,
        ("spend", "conversion"),
        ("no data for spend, conversion",),
    )
    assert silent.values == (("spend", None), ("conversion", None))


def test_only_the_entity_asked_for_and_only_those_in_scope():
    [only] = explain_rule(rule("spend > 500"), CURRENT, None, {}, [], NOW, entity_id=SILENT)
    assert only.entity.id == SILENT and only.why == ("no data for spend",)
    assert explain_rule(rule("spend > 500"), CURRENT, None, {}, [], NOW, entity_id="1801") == []


def test_pending_says_how_long_of_how_long():
    pending = {("overspend", Level.CAMPAIGN, SPENDING): alert("pending", NOW - timedelta(minutes=3))}
    explained = by_id(explain_rule(rule("spend > 500", for_=timedelta(minutes=15)), CURRENT, None, pending, [], NOW))
    assert explained[SPENDING].state == "pending"
    assert explained[SPENDING].why[-1] == "pending 3 of 15 min"
    later = {("overspend", Level.CAMPAIGN, SPENDING): alert("pending", NOW - timedelta(seconds=31))}
    explained = by_id(explain_rule(rule("spend > 500", for_=timedelta(minutes=60)), CURRENT, None, later, [], NOW))
    assert explained[SPENDING].why[-1] == "pending 0 of 60 min"  # whole minutes, not 0.516667


def test_firing_in_cooldown_says_until_when():
    firing = {
        ("overspend", Level.CAMPAIGN, SPENDING): alert("firing", NOW - timedelta(hours=1), NOW - timedelta(hours=1))
    }
    explained = by_id(explain_rule(rule("spend > 500"), CURRENT, None, firing, [], NOW))
    assert explained[SPENDING].why[-1] == "firing since 2026-11-24 19:00 UTC; in cooldown until 2026-11-24 23:00 UTC"


def test_a_held_field_and_a_dry_run_are_named_for_a_rule_with_an_action():
    hold = Hold(ADV, (Level.CAMPAIGN, SPENDING), "operation_status", NOW - timedelta(hours=1), NOW + timedelta(hours=2),
                value="ENABLE")  # fmt: skip
    pause = rule("spend > 500", action=Action("pause"))
    [held] = explain_rule(pause, CURRENT, None, {}, [hold], NOW, entity_id=SPENDING)
    assert held.why[-1].startswith("held until 2026-11-24 22:00 UTC: a person set it to ENABLE")
    [dry] = explain_rule(pause, CURRENT, None, {}, [], NOW, entity_id=SPENDING, dry_run="[actions] enabled = false")
    assert dry.why[-1] == "dry run ([actions] enabled = false)"
    [own] = explain_rule(rule("spend > 500", action=Action("pause"), dry_run=True), CURRENT, None, {}, [], NOW,
                         entity_id=SPENDING)  # fmt: skip
    assert own.why[-1] == "dry run (the rule's dry_run = true)"


def test_silenced_is_a_seam_that_names_the_silence():
    def silenced_by(r: Rule, entity: EntityState) -> str | None:
        return "silence #4 by alice until 2026-11-25 08:00 UTC" if entity.id == SPENDING else None

    found = by_id(explain_rule(rule("spend > 500"), CURRENT, None, {}, [], NOW, silenced_by=silenced_by))
    assert found[SPENDING].why[-1] == "muted: silence #4 by alice until 2026-11-25 08:00 UTC"
    assert "would fire now, withheld: no notice" in found[SPENDING].why  # not "would fire now: notify"
    assert not any("notify" in why for why in found[SPENDING].why)
    assert not any("silenced" in why for why in found[CHEAP].why)


def test_the_values_shown_are_those_the_engine_reads():
    when = "has(prev.budget) or budget_used >= 0 or yesterday.cpc >= 0 or spend >= 0 or hour >= 0 or has(name)"
    previous = snapshot(campaign(SPENDING, "Summer Sale", spend=400.0), taken_at=NOW - timedelta(minutes=5))
    checked = rule(when)
    evaluation = evaluate([checked], CURRENT, previous, NOW, zone="America/New_York")
    explained = explain_rule(checked, CURRENT, previous, {}, [], NOW, zone="America/New_York")
    assert len(explained) == 3
    for explanation in explained:
        finding = evaluation.finding("overspend", explanation.entity.id)
        assert finding is not None
        assert dict(explanation.values) == dict(finding.values)
    assert dict(explained[0].values)["hour"] == 15 and dict(explained[0].values)["budget_used"] == 612.5 / 500


def test_the_table_has_a_row_per_entity_with_values_result_state_and_why():
    explained = explain_rule(rule("spend > 500"), CURRENT, None, {}, [], NOW)
    lines = render_table(explained).splitlines()
    assert lines[0].split() == ["entity", "name", "values", "result", "state", "why"]
    silent = next(line for line in lines if line.startswith(SILENT))
    assert "spend = no data" in silent and "no data for spend" in silent and "inactive" in silent
    assert rule_header(rule("spend > 500", for_=timedelta(minutes=15))) == (
        "rule overspend (campaign): spend > 500; for 15m, cooldown 4h"
    )


def test_a_baseline_shows_its_value_and_why_it_has_none():
    usual = {"today": {"spend": 612.5}, "baseline_4w": {"spend": 250.0}, "stddev_4w": {"spend": 40.0}}
    spending = EntityState(Level.CAMPAIGN, SPENDING, ADV, "Summer Sale", "ENABLE", metrics=usual)
    new = EntityState(Level.CAMPAIGN, CHEAP, ADV, "New", "ENABLE", metrics={"today": {"spend": 90.0}})
    now = snapshot(spending, new)
    condition = rule("(spend - baseline(spend)) / stddev(spend) > 3")
    explained = by_id(explain_rule(condition, now, None, {}, [], NOW))
    assert explained[SPENDING].values == (("spend", 612.5), ("baseline(spend)", 250.0), ("stddev(spend)", 40.0))
    assert explained[SPENDING].result is Result.TRUE
    assert explained[CHEAP].result is Result.NO_DATA
    assert explained[CHEAP].why[0] == (
        "no data for baseline(spend), stddev(spend) (a baseline needs the same weekday of at least 2 of the last 4 "
        "weeks with delivery by this time, from hourly history the monitor stores at most a few past days per poll)"
    )
