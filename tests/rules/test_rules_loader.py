"""Loading rule files: every problem of every file at once, each as file:line: key: message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor.domain import Level, Severity
from monitor.errors import ConfigError
from monitor.rules import Action, Match, NotifyTarget, configured_channels, load_rules, summarize

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
[[rule]]
name = "overspend"
description = "Spent a lot, converted nothing."
level = "campaign"
window = "today"
when = "spend > 500 and conversion == 0"
for = "15m"
cooldown = "1h30m"
severity = "critical"
notify = ["slack", "slack:#ads-urgent", "email:ops@example.com"]
notify_resolved = true
action = "pause"
dry_run = true
[rule.match]
advertiser_ids = ["7000000000000000001"]
campaign_ids = ["1800000000000001"]
ids = ["1800000000000001", "1800000000000002"]
name = ["Summer*", "Holiday*"]

[[rule]]
name = "scale"
level = "adgroup"
when = "budget_used > 0.8"
action = { type = "scale_budget", by = "+20%", max = 2000, min = 50 }

[[rule]]
name = "set"
level = "campaign"
when = "spend > 1"
action = { type = "set_budget", to = 150 }
notify = ["email"]

[[rule]]
name = "enable"
level = "ad"
when = 'secondary_status == "AD_STATUS_DISABLE"'
action = { type = "enable" }
"""

BAD = {
    "a.toml": """\
# first file
[[rule]]
name = "overspend"
level = "campaign"
when = "spend > 500 and conversion == 0"
for = "15m"
notify = ["slack", "slack:#ads-urgent"]
action = "pause"
dry_run = true

[[rule]]
name = "bad one"
level = "campaigns"
whne = "spend > 1"
for = "5x"
cooldown = 5
severity = "crit"
notify = ["slak", "email", "slack:general", "slack"]
action = { type = "scale_budget", by = "20%", maxx = 5 }

[[rule]]
name = "typos in when"
level = "ad"
when = "spnd > 1 and budget > 3"
action = { type = "set_budget", to = -1 }

[[rule]]
name = "no action"
level = "adgroup"
when = "spend > 1"
colour = "red"

[[rule]]
name = "advertiser actions"
level = "advertiser"
when = "spend > 1"
action = "enable"
[rule.match]
campaign_ids = [123]
names = "x"
""",
    "b.toml": """\
[[rule]]
name = "overspend"
level = "campaign"
when = "spend > 1"

[[rule]]
name = ""
level = "ad"
when = 'secondary_status == "AD_STATUS_AUDIT_DENY"'
action = "delete"
""",
    "c.toml": '[rule]\nname = "x"\n',
    "d.toml": '[[rule]\nname = "x"\n',
    "e.toml": '[[rules]]\nname = "x"\n',
    "f.toml": '[[rule]]\nname = "lonely dry run"\nlevel = "ad"\nwhen = "spend > 1"\ndry_run = true\nnotify_resolved = true\n',
}

EXPECTED = """\
a.toml:13: rule "bad one".level: level must be one of advertiser, campaign, adgroup, ad; got 'campaigns'; did you mean 'campaign'?
a.toml:14: rule "bad one".whne: unknown key; did you mean 'when'?
a.toml:15: rule "bad one".for: '5x' is not a duration: expected a number with a unit s, m, h or d, like "90s", "5m", "4h"
a.toml:16: rule "bad one".cooldown: 5 is not a duration: add a unit s, m, h or d, like "5s"
a.toml:17: rule "bad one".severity: severity must be one of info, warning, critical; got 'crit'; did you mean 'critical'?
a.toml:18: rule "bad one".notify[0]: unknown channel 'slak'; did you mean 'slack'?
a.toml:18: rule "bad one".notify[1]: channel 'email' is not configured (configured: slack): add [email] to the config
a.toml:18: rule "bad one".notify[2]: expected a Slack channel like 'slack:#ads-alerts' or 'slack:@someone', got 'slack:general'
a.toml:19: rule "bad one".action.maxx: unknown key; did you mean 'max'?
a.toml:19: rule "bad one".action.by: expected a change like "+20%" or "-10%" (more than -100%), got '20%'
a.toml:24: rule "typos in when".when: unknown name 'spnd'; did you mean 'spend'? (column 1)
a.toml:24: rule "typos in when".when: budget is not available in ad rules (only in advertiser, campaign, adgroup rules) (column 14)
a.toml:25: rule "typos in when".action.type: set_budget is not available in ad rules: ads have no budget (use an adgroup or campaign rule)
a.toml:25: rule "typos in when".action.to: expected a positive number, got -1
a.toml:31: rule "no action".colour: unknown key; expected one of: name, level, window, description, when, for, cooldown, severity, notify, notify_resolved, action, dry_run, approve, approve_within, match, enabled, active, active_days
a.toml:37: rule "advertiser actions".action: enable is not available in advertiser rules: the API changes campaigns, ad groups and ads
a.toml:39: rule "advertiser actions".match.campaign_ids[0]: ids are strings; quote it: "123"
a.toml:40: rule "advertiser actions".match.names: unknown key; did you mean 'name'?
b.toml:2: rule "overspend".name: rule name 'overspend' is already used at a.toml:3
b.toml:7: rule[1].name: expected 1-100 letters, digits, spaces or _ . : - (starting with a letter or digit); got ''
b.toml:10: rule[1].action: action must be one of pause, enable, scale_budget, set_budget; got 'delete'
c.toml:1: rule: write [[rule]] (with double brackets): each rule is one table of an array
d.toml:1: invalid TOML: expected ']]' at the end of an array declaration (column 7)
e.toml:1: rules: unknown key; did you mean 'rule'?
f.toml:5: rule "lonely dry run".dry_run: dry_run applies to the rule's action, and this rule has none
f.toml:6: rule "lonely dry run".notify_resolved: there is no channel to send resolved notices to: set notify"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def problems(path, channels=("slack",)) -> str:
    with pytest.raises(ConfigError) as caught:
        load_rules(path, channels=channels)
    return "\n".join(str(p) for p in caught.value.problems)


def test_every_problem_of_every_file_is_reported_at_once(tmp_path, monkeypatch):
    write(tmp_path / "rules", BAD)
    monkeypatch.chdir(tmp_path / "rules")
    assert problems(Path(".")) == EXPECTED


def test_a_good_file_loads_into_frozen_rules(tmp_path):
    write(tmp_path, {"good.toml": GOOD})
    rules = load_rules(tmp_path, channels={"slack", "email"})
    overspend, scale, set_budget, enable = rules
    assert overspend.level is Level.CAMPAIGN and overspend.when.text == "spend > 500 and conversion == 0"
    assert overspend.for_ == timedelta(minutes=15) and overspend.cooldown == timedelta(hours=1, minutes=30)
    assert overspend.severity is Severity.CRITICAL and overspend.notify_resolved and overspend.dry_run
    assert overspend.notify == (
        NotifyTarget("slack"),
        NotifyTarget("slack", "#ads-urgent"),
        NotifyTarget("email", "ops@example.com"),
    )
    assert [str(t) for t in overspend.notify] == ["slack", "slack:#ads-urgent", "email:ops@example.com"]
    assert overspend.action == Action("pause")
    assert overspend.match == Match(
        advertiser_ids=frozenset({"7000000000000000001"}),
        campaign_ids=frozenset({"1800000000000001"}),
        ids=frozenset({"1800000000000001", "1800000000000002"}),
        names=("Summer*", "Holiday*"),
    )
    assert overspend.description == "Spent a lot, converted nothing."
    assert overspend.source == f"{tmp_path / 'good.toml'}:1"
    assert scale.action == Action("scale_budget", by=20.0, min=50.0, max=2000.0)
    assert scale.action.summary() == "scale_budget +20% (min 50, max 2000)"
    assert scale.action.target_budget(1000.0) == 1200.0 and scale.action.target_budget(1900.0) == 2000.0
    assert scale.action.target_budget(10.0) == 50.0 and scale.action.target_budget(None) is None
    assert (scale.severity, scale.cooldown, scale.for_, scale.notify) == (
        Severity.WARNING,
        timedelta(hours=4),
        timedelta(0),
        (),
    )
    assert set_budget.action == Action("set_budget", to=150.0) and set_budget.action.summary() == "set_budget 150"
    assert set_budget.action.target_budget(99.0) == 150.0
    assert enable.action == Action("enable") and enable.window == "today" and enable.match == Match()
    assert rules.files == (str(tmp_path / "good.toml"),)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ('"stop"', "action must be one of pause, enable, scale_budget, set_budget; got 'stop'"),
        ('"paus"', "action must be one of pause, enable, scale_budget, set_budget; got 'paus'; did you mean 'pause'?"),
        ("5", 'expected "pause", "enable" or a table like { type = "set_budget", to = 150 }, got 5'),
        ("{ by = \"+5%\" }", "required: set type (pause, enable, scale_budget, set_budget)"),
        ('{ type = "scale_budget" }', 'required: set by, like by = "+20%"'),
        ('{ type = "scale_budget", by = "+0%" }', 'action.by: expected a change like "+20%" or "-10%" (more than -100%), got \'+0%\''),
        ('{ type = "scale_budget", by = "-100%" }', 'action.by: expected a change like "+20%" or "-10%" (more than -100%), got \'-100%\''),
        ('{ type = "scale_budget", by = 20 }', 'action.by: expected a change like "+20%" or "-10%" (more than -100%), got 20'),
        ('{ type = "scale_budget", by = "+5%", max = 0 }', "action.max: expected a positive number, got 0"),
        ('{ type = "scale_budget", by = "+5%", min = 10, max = 5 }', "action.min: min (10) is more than max (5)"),
        ('{ type = "scale_budget", by = "+5%", to = 5 }', "action.to: unknown key; scale_budget takes by, min, max"),
        ('{ type = "set_budget" }', "required: set to, the new budget, like to = 150"),
        ('{ type = "set_budget", to = true }', "action.to: expected a positive number, got true"),
        ('{ type = "pause", by = "+5%" }', "action.by: unknown key; pause takes nothing else"),
    ],
)  # fmt: skip
def test_action_shapes(tmp_path, action, message):
    write(tmp_path, {"r.toml": f'[[rule]]\nname = "r"\nlevel = "adgroup"\nwhen = "spend > 1"\naction = {action}\n'})
    [problem] = problems(tmp_path).splitlines()
    rule = 'rule "r"'
    assert problem.endswith(f"{rule}.{message}" if message.startswith("action.") else f"{rule}.action: {message}")


@pytest.mark.parametrize(
    ("notify", "channels", "message"),
    [
        ('["webhook"]', ("slack",), "channel 'webhook' is not configured (configured: slack): add [webhook] to the config"),
        ('["slack"]', (), "channel 'slack' is not configured (configured: none): add [slack] to the config"),
        ('["teams"]', ("slack",), "unknown channel 'teams' (channels are slack, email, webhook, console)"),
        ('["email:nobody"]', ("email",), "expected an address like 'email:ops@example.com', got 'email:nobody'"),
        ('["webhook:"]', ("webhook",), "nothing after ':' in 'webhook:'"),
        ('["slack", "slack"]', ("slack",), "'slack' is listed twice"),
        ("[1]", ("slack",), 'expected a channel name like "slack", got 1'),
    ],
)  # fmt: skip
def test_notify_targets(tmp_path, notify, channels, message):
    write(tmp_path, {"r.toml": f'[[rule]]\nname = "r"\nlevel = "ad"\nwhen = "spend > 1"\nnotify = {notify}\n'})
    [problem] = problems(tmp_path, channels).splitlines()
    assert problem.split(": ", 2)[2] == message


def test_notify_must_be_a_list(tmp_path):
    write(tmp_path, {"r.toml": '[[rule]]\nname = "r"\nlevel = "ad"\nwhen = "spend > 1"\nnotify = "slack"\n'})
    assert problems(tmp_path).endswith(
        'rule "r".notify: expected an array of channel names, like ["slack"], got \'slack\''
    )


def test_when_must_be_text(tmp_path):
    write(tmp_path, {"r.toml": '[[rule]]\nname = "r"\nlevel = "ad"\nwhen = 5\n'})
    assert problems(tmp_path).endswith('rule "r".when: expected a condition as a string, like "spend > 100", got 5')


def test_required_keys(tmp_path):
    write(tmp_path, {"r.toml": "[[rule]]\ndescription = 'nothing else'\n"})
    assert problems(tmp_path).splitlines() == [
        f"{tmp_path / 'r.toml'}:1: rule[0].name: required: set name",
        f"{tmp_path / 'r.toml'}:1: rule[0].level: required: set level",
        f"{tmp_path / 'r.toml'}:1: rule[0].when: required: set when",
    ]


def test_where_the_rules_are(tmp_path):
    assert problems(tmp_path / "nope") == f"{tmp_path / 'nope'}: the rules directory does not exist"
    (tmp_path / "empty").mkdir()
    assert problems(tmp_path / "empty") == f"{tmp_path / 'empty'}: no *.toml rule files in the rules directory"
    assert problems(tmp_path / "*.rules") == f"{tmp_path / '*.rules'}: no rule file matches this pattern"
    write(tmp_path / "mixed", {"a.toml": GOOD.split("\n\n")[1], "b.rules": GOOD.split("\n\n")[2], "c.txt": "x"})
    (tmp_path / "mixed" / "tests").mkdir()
    (tmp_path / "mixed" / "tests" / "t.toml").write_text("not rules")
    assert [r.name for r in load_rules(tmp_path / "mixed", channels=())] == ["scale"]
    assert [r.name for r in load_rules(tmp_path / "mixed" / "*.rules", channels={"email"})] == ["set"]
    assert [r.name for r in load_rules(tmp_path / "mixed" / "a.toml", channels=())] == ["scale"]
    assert [r.name for r in load_rules([tmp_path / "mixed" / "a.toml"], channels=())] == ["scale"]


def test_an_empty_rule_file_is_fine(tmp_path):
    write(tmp_path, {"a.toml": "# nothing yet\n", "b.toml": GOOD.split("\n\n")[1]})
    assert len(load_rules(tmp_path, channels=())) == 1


def test_configured_channels_come_from_the_settings():
    assert configured_channels(SimpleNamespace(slack=object(), email=None)) == {"slack"}
    assert configured_channels(SimpleNamespace(slack=None, email=object(), webhook=object())) == {"email", "webhook"}


# --- the example rules -----------------------------------------------------------------------------------


def test_the_example_rules_load_with_slack():
    rules = load_rules(REPO / "rules", channels={"slack"})
    assert len(rules) >= 10
    assert all([str(t) for t in rule.notify] == ["slack"] for rule in rules)
    assert {rule.action.type for rule in rules if rule.action} == {"pause", "scale_budget"}
    assert all(rule.dry_run for rule in rules if rule.action)


def test_the_example_rules_name_the_missing_channel_without_slack():
    with pytest.raises(ConfigError) as caught:
        load_rules(REPO / "rules", channels=())
    assert {p.message for p in caught.value.problems} == {
        "channel 'slack' is not configured (configured: none): add [slack] to the config"
    }


def test_summary(tmp_path):
    write(tmp_path, {"good.toml": GOOD})
    assert summarize(load_rules(tmp_path, channels={"slack", "email"})) == (
        "4 rules in 1 file(s)\n"
        "  levels     campaign 2, adgroup 1, ad 1\n"
        "  severity   critical 1, warning 3\n"
        "  notify     email 1, email:ops@example.com 1, slack 1, slack:#ads-urgent 1; 2 rule(s) notify nobody (log only)\n"
        "  actions    enable 1, pause 1 (1 dry run), scale_budget 1, set_budget 1\n"
        "  fetches    campaign   today: conversion, spend\n"
        "             adgroup    today: spend\n"
        "             ad         fields only"
    )


# --- what cannot be meant, and how problems name rules (issue 15 items 8 and 10) ----------------------------


def one_rule(tmp_path, body: str) -> str:
    write(tmp_path, {"r.toml": f'[[rule]]\nname = "overspend"\nlevel = "campaign"\n{body}'})
    return problems(tmp_path)


def test_a_misnamed_condition_suggests_when_and_names_the_rule(tmp_path):
    assert one_rule(tmp_path, 'condition = "spend > 1"\n') == (
        f"{tmp_path / 'r.toml'}:4: rule \"overspend\".condition: unknown key; did you mean 'when'?"
    )


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("spend > 1e400", "1e400 is out of range: a number in a condition must be less than 1e15 in size (column 9)"),
        ("spend > 1e15", "1e15 is out of range: a number in a condition must be less than 1e15 in size (column 9)"),
        (
            "spend > 1" + "0" * 299,
            "1000000000000000... (300 characters) is out of range: a number in a condition must be less than 1e15 in "
            "size (column 9)",
        ),
        (
            "spend > -2_000_000_000_000_000",
            "2000000000000000 is out of range: a number in a condition must be less than 1e15 in size (column 10)",
        ),
        (
            "cpc < 0.1234567890123456",
            "0.1234567890123456 has more than 15 significant digits: more cannot be compared exactly (column 7)",
        ),
    ],
)
def test_numbers_in_a_condition_must_be_finite_and_of_sane_magnitude(tmp_path, when, message):
    assert one_rule(tmp_path, f'when = "{when}"\n') == f'{tmp_path / "r.toml"}:4: rule "overspend".when: {message}'


def test_large_but_sane_numbers_in_a_condition_are_fine(tmp_path):
    write(
        tmp_path,
        {"r.toml": '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend > 999999999999999 or cpc < 1.5e-3"\n'},
    )
    assert len(load_rules(tmp_path, channels=())) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('when = "spend > 1"\ndry_run = "yes"\naction = "pause"\n', "dry_run: expected a boolean, got the string \"yes\" (write true or false, without quotes)"),
        ('when = "spend > 1"\nnotify_resolved = "true"\n', "notify_resolved: expected a boolean, got the string \"true\" (write true or false, without quotes)"),
        ('when = "spend > 1"\nfor = "1000d"\n', "for: must be at most 366d (longer than a year cannot be meant), got '1000d'"),
        ('when = "spend > 1"\ncooldown = "400d"\n', "cooldown: must be at most 366d (longer than a year cannot be meant), got '400d'"),
        ('when = "spend > 1"\naction = { type = "set_budget", to = 1e308 }\n', "action.to: must be less than 1e12 (an amount of money), got 1e+308"),
        ('when = "spend > 1"\naction = { type = "set_budget", to = inf }\n', "action.to: must be less than 1e12 (an amount of money), got inf"),
        ('when = "spend > 1"\naction = { type = "set_budget", to = 1' + "0" * 399 + " }\n", f"action.to: must be less than 1e12 (an amount of money), got 1{'0' * 56}..."),
        ('when = "spend > 1"\naction = { type = "scale_budget", by = "+5%", max = 1e13 }\n', "action.max: must be less than 1e12 (an amount of money), got 10000000000000.0"),
        ('when = "spend > 1"\naction = { type = "scale_budget", by = "+100000000%" }\n', "action.by: must be at most +1000% (+1000% is eleven times the budget), got '+100000000%'"),
    ],
)  # fmt: skip
def test_rule_values_that_cannot_be_meant_are_refused(tmp_path, body, message):
    [problem] = one_rule(tmp_path, body).splitlines()
    assert problem.split(": ", 1)[1] == f'rule "overspend".{message}'


def test_the_bounds_themselves_are_accepted(tmp_path):
    body = 'when = "spend > 1"\nfor = "366d"\naction = { type = "scale_budget", by = "+1000%", max = 999999999999 }\n'
    write(tmp_path, {"r.toml": f'[[rule]]\nname = "r"\nlevel = "campaign"\n{body}'})
    [rule] = load_rules(tmp_path, channels=())
    assert rule.action == Action("scale_budget", by=1000.0, max=999999999999.0) and rule.for_ == timedelta(days=366)


def test_a_rule_file_that_is_not_utf8_names_the_line(tmp_path):
    (tmp_path / "r.toml").write_bytes(b'[[rule]]\nname = "caf\xe9"\n')
    assert (
        problems(tmp_path)
        == f"{tmp_path / 'r.toml'}:2: cannot read the rule file: not UTF-8 text (column 12: byte 0xe9)"
    )


def test_approve_and_approve_within_wait_for_a_person_and_need_an_action(tmp_path, monkeypatch):
    rule = '[[rule]]\nname = "{name}"\nlevel = "campaign"\nwhen = "spend > 1"\n{keys}\n'
    files = {
        "a.toml": rule.format(name="one", keys='action = "pause"\napprove = true')
        + rule.format(name="two", keys='action = "pause"\napprove_within = "30m"')
        + rule.format(name="three", keys='action = "pause"\napprove = false'),
    }
    ruleset = load_rules(write(tmp_path / "ok", files), channels=())
    assert [(r.name, r.approve) for r in ruleset] == [
        ("one", timedelta(hours=1)),
        ("two", timedelta(minutes=30)),
        ("three", None),
    ]
    assert "pause 3 (2 waiting for approval)" in summarize(ruleset)
    bad = {
        "b.toml": rule.format(name="lonely", keys="approve = true")
        + rule.format(name="zero", keys='action = "pause"\napprove_within = "0s"')
        + rule.format(name="contradiction", keys='action = "pause"\napprove = false\napprove_within = "1h"'),
    }
    write(tmp_path / "bad", bad)
    monkeypatch.chdir(tmp_path / "bad")
    assert problems(Path(".")) == (
        'b.toml:5: rule "lonely".approve: approve applies to the rule\'s action, and this rule has none\n'
        'b.toml:11: rule "zero".approve_within: an approval must be able to wait: give a duration like "30m"\n'
        'b.toml:18: rule "contradiction".approve_within: approve = false: the action does not wait; leave '
        "approve_within out"
    )


def test_summary_says_a_baseline_reads_stored_hourly_history(tmp_path):
    rule = (
        '[[rule]]\nname = "a"\nlevel = "campaign"\nwhen = "spend > 2 * baseline(spend, weeks=3)"\nnotify = ["slack"]\n'
    )
    write(tmp_path, {"a.toml": rule})
    summary = summarize(load_rules(tmp_path, channels={"slack"}))
    fetches = "  fetches    campaign   baseline over 3 weeks (stored hourly history): spend; today: spend"
    assert summary.splitlines()[-1] == fetches
