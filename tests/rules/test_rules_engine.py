"""The engine: scope by level and match, findings with values and reasons, undecided entities, needs()."""

from __future__ import annotations

import pytest
from rules_factories import T0, entity, rule, snapshot

from monitor.domain import Level
from monitor.rules import Finding, Match, RuleSet, evaluate
from monitor.rules.engine import explain

SUMMER = entity("campaign", "1", name="Summer Sale", today={"spend": 600.0, "conversion": 0})
summer_lower = entity("campaign", "2", name="summer sale", today={"spend": 700.0, "conversion": 0})
HOLIDAY = entity("campaign", "3", name="Holiday", today={"spend": 800.0, "conversion": 0})
NAMELESS = entity("campaign", "4", name=None, today={"spend": 900.0, "conversion": 0})
ADGROUP = entity("adgroup", "10", campaign_id="1", name="Summer group", today={"spend": 999.0, "conversion": 0})
AD = entity("ad", "20", campaign_id="3", adgroup_id="11", name="Summer ad", today={"spend": 999.0, "conversion": 0})
EVERYTHING = snapshot(SUMMER, summer_lower, HOLIDAY, NAMELESS, ADGROUP, AD)


def ids(evaluation, name="r"):
    return sorted(f.entity.id for f in evaluation.findings if f.rule.name == name)


def test_a_rule_sees_only_its_level():
    assert ids(evaluate([rule("spend > 500")], EVERYTHING, None, T0)) == ["1", "2", "3", "4"]
    assert ids(evaluate([rule("spend > 500", level="adgroup")], EVERYTHING, None, T0)) == ["10"]
    assert ids(evaluate([rule("spend > 500", level="ad")], EVERYTHING, None, T0)) == ["20"]


def test_match_by_name_glob_is_case_sensitive_and_skips_nameless_entities():
    summer = rule("spend > 500", match=Match(names=("Summer*",)))
    assert ids(evaluate([summer], EVERYTHING, None, T0)) == ["1"]
    either = rule("spend > 500", match=Match(names=("Summer*", "Holi?ay")))
    assert ids(evaluate([either], EVERYTHING, None, T0)) == ["1", "3"]


def test_match_by_ids_campaigns_and_advertisers():
    assert ids(evaluate([rule("spend > 500", match=Match(ids=frozenset({"2", "4"})))], EVERYTHING, None, T0)) == [
        "2",
        "4",
    ]
    in_campaign = rule("spend > 500", level="adgroup", match=Match(campaign_ids=frozenset({"1"})))
    assert ids(evaluate([in_campaign], EVERYTHING, None, T0)) == ["10"]
    other_campaign = rule("spend > 500", level="ad", match=Match(campaign_ids=frozenset({"1"})))
    assert ids(evaluate([other_campaign], EVERYTHING, None, T0)) == []
    campaigns = rule("spend > 500", match=Match(campaign_ids=frozenset({"3"})))
    assert ids(evaluate([campaigns], EVERYTHING, None, T0)) == ["3"]
    elsewhere = rule("spend > 500", match=Match(advertiser_ids=frozenset({"7000000000000000002"})))
    evaluation = evaluate([elsewhere], EVERYTHING, None, T0)
    assert evaluation.findings == () and evaluation.undecided == {}


def test_a_finding_says_what_made_it_true_and_what_had_no_data():
    either = rule("spend > 500 or ctr > 1")
    [finding] = evaluate([either], snapshot(SUMMER), None, T0).findings
    assert dict(finding.values) == {"spend": 600.0, "ctr": None}
    assert finding.missing == ("ctr",)
    assert finding.reason == "spend > 500 or ctr > 1: spend = 600; no data for ctr"
    assert finding.key == ("r", Level.CAMPAIGN, "1")


def test_explanations_show_values_as_a_rule_writes_them():
    values = {"spend": 612.5, "conversion": 0, "secondary_status": "AD_STATUS_AUDIT_DENY", "ctr": 0.1 + 0.2}
    assert explain("x", values) == (
        'x: spend = 612.5, conversion = 0, secondary_status = "AD_STATUS_AUDIT_DENY", ctr = 0.3',
        (),
    )
    assert explain("x", {"a": None}) == ("x: no data for a", ("a",))


def test_undecided_entities_are_listed_per_rule():
    no_row = entity("campaign", "5", name="No report row")
    evaluation = evaluate([rule("conversion == 0 and spend > 100")], snapshot(SUMMER, no_row), None, T0)
    assert ids(evaluation) == ["1"]
    assert evaluation.undecided == {"r": frozenset({"5"})}
    assert evaluation.is_undecided("r", "5") and not evaluation.is_undecided("r", "1")
    assert evaluation.finding("r", "1") is evaluation.findings[0]
    assert evaluation.finding("r", "5") is None and evaluation.finding("other", "1") is None


def test_previous_poll_values_come_from_the_previous_snapshot():
    before = entity("campaign", "1", name="Summer Sale", today={"spend": 100.0})
    evaluation = evaluate([rule("delta(spend) > 400")], snapshot(SUMMER), snapshot(before), T0)
    assert dict(evaluation.findings[0].values) == {"spend": 600.0, "prev.spend": 100.0}
    appeared = evaluate([rule("delta(spend) > 400")], snapshot(SUMMER), snapshot(), T0)
    assert appeared.findings == () and appeared.undecided == {"r": frozenset({"1"})}


def test_an_odd_value_makes_an_entity_undecided_and_is_reported_without_stopping_the_rest():
    odd = entity("campaign", "6", today={"spend": "a lot"})  # a store bug, say: a string where a number goes
    evaluation = evaluate([rule("spend > 500"), rule("spend > 550", name="other")], snapshot(SUMMER, odd), None, T0)
    assert ids(evaluation) == ["1"] and ids(evaluation, "other") == ["1"]
    assert evaluation.undecided == {"r": frozenset({"6"}), "other": frozenset({"6"})}
    assert evaluation.errors == (
        "rule 'r': 1 entity undecided (TypeError: '>' not supported between instances of 'str' and 'int')",
        "rule 'other': 1 entity undecided (TypeError: '>' not supported between instances of 'str' and 'int')",
    )


def test_metrics_read_together_fall_back_to_one_by_one_when_a_row_lacks_one():
    # spend and clicks are read by both rules, so the program reads them with one call per row; a row without
    # clicks, and an entity without a report row, must still read as "no data" for what is absent
    rules = [rule("spend > 500 and clicks == 0", name="a"), rule("spend > 650 or clicks > 10", name="b")]
    full = entity("campaign", "1", today={"spend": 600.0, "clicks": 0, "conversion": 2})
    partial = entity("campaign", "2", today={"spend": 700.0, "conversion": 0})
    none = entity("campaign", "3")
    evaluation = evaluate(rules, snapshot(full, partial, none), None, T0)
    assert ids(evaluation, "a") == ["1"] and ids(evaluation, "b") == ["2"]
    assert dict(evaluation.finding("b", "2").values) == {"spend": 700.0, "clicks": None}
    assert evaluation.undecided == {"a": frozenset({"2", "3"}), "b": frozenset({"3"})}


def test_findings_made_by_the_engine_equal_findings_made_by_hand():
    [found] = evaluate([rule("spend > 500 and conversion == 0")], snapshot(SUMMER), None, T0).findings
    by_hand = Finding(found.rule, SUMMER, {"spend": 600.0, "conversion": 0})
    assert found == by_hand and found != Finding(found.rule, SUMMER, {"spend": 600.0, "conversion": 1})
    assert found.reason == by_hand.reason == "spend > 500 and conversion == 0: spend = 600, conversion = 0"
    with pytest.raises(AttributeError):
        found.rule = by_hand.rule  # type: ignore[misc]
    assert repr(found) == "Finding(rule='r', entity=(<Level.CAMPAIGN: 'campaign'>, '1'), values=" + (
        "{'spend': 600.0, 'conversion': 0})"
    )


def test_rules_of_several_levels_are_evaluated_together_in_rule_order():
    rules = [rule("spend > 900", level="ad", name="a"), rule("spend > 500", name="b"), rule("spend > 0", level="adgroup", name="c")]  # fmt: skip
    evaluation = evaluate(rules, EVERYTHING, None, T0)
    assert [(f.rule.name, f.entity.id) for f in evaluation.findings] == [
        ("a", "20"),
        ("b", "1"),
        ("b", "2"),
        ("b", "3"),
        ("b", "4"),
        ("c", "10"),
    ]


def test_needs_lists_levels_windows_and_metrics():
    rules = RuleSet(
        [
            rule("spend > 500 and conversion == 0", name="a"),
            rule("cpc > 1.5 * yesterday.cpc and delta(lifetime.spend) > 1", name="b", level="adgroup"),
            rule("budget_used > 0.9", name="c", level="adgroup", window="last_7d"),
            rule("ctr < last_7d.ctr and prev.clicks > 0", name="d", level="ad", window="yesterday"),
            rule('secondary_status == "AD_STATUS_AUDIT_DENY"', name="e", level="ad"),
            rule("changed(operation_status)", name="f", level="advertiser"),
        ]
    )
    needs = rules.needs()
    assert needs.levels == {Level.ADVERTISER, Level.CAMPAIGN, Level.ADGROUP, Level.AD}
    assert needs.windows(Level.CAMPAIGN) == {"today": {"spend", "conversion"}}
    assert needs.windows(Level.ADGROUP) == {
        "today": {"cpc", "spend"},
        "yesterday": {"cpc"},
        "lifetime": {"spend"},
    }
    assert needs.windows(Level.AD) == {"yesterday": {"ctr", "clicks"}, "last_7d": {"ctr"}}
    assert needs.windows(Level.ADVERTISER) == {}
    assert str(needs).startswith("advertiser: fields only | campaign: today[conversion, spend]")


def test_a_rule_set_knows_its_rules():
    rules = RuleSet([rule("spend > 1", name="a"), rule("spend > 2", name="b", level="ad")], files=("x.toml",))
    assert len(rules) == 2 and "a" in rules and "z" not in rules
    assert rules.get("b").level is Level.AD and rules.get("z") is None
    assert [r.name for r in rules.of_level(Level.AD)] == ["b"]
    assert [r.name for r in rules] == ["a", "b"]


def test_the_levels_whose_previous_metrics_a_rule_reads() -> None:
    """What a poll keeps parsed after comparing (monitor.store.poll_changes): a metric read at the previous poll
    (prev.x, delta(x), changed(x)), or a value worked out from metrics; a field's previous value is not metrics."""
    rules = RuleSet(
        [
            rule("delta(spend) > 5", level="ad", name="a"),
            rule("prev.operation_status == 'ENABLE' and changed(secondary_status)", level="campaign", name="c"),
            rule("changed(clicks)", level="adgroup", name="g", enabled=False),  # never evaluated
            rule("spend > 5", level="adgroup", name="g2"),
        ]
    )
    assert rules.previous_metric_levels() == {Level.AD}
    assert RuleSet([rule("prev.budget_used > 0.5", level="adgroup")]).previous_metric_levels() == {Level.ADGROUP}
    assert RuleSet([rule("changed(clicks)", level="campaign")]).previous_metric_levels() == {Level.CAMPAIGN}
    assert RuleSet([]).previous_metric_levels() == frozenset()
