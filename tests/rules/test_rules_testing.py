"""Rule unit tests (test-rules): the example passes, a failing case shows a clear diff, a bad file is exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.rules import render_report, run_rule_tests

REPO = Path(__file__).resolve().parents[2]
CASE0 = 'case "overspend fires after ten minutes"'

RULES = """\
[[rule]]
name = "overspend"
level = "campaign"
when = "spend > 500 and conversion == 0"
for = "10m"
notify = ["slack"]
notify_resolved = true
action = "pause"
dry_run = true
"""

CASE = """\
rule_files = ["rules/*.toml"]
channels = ["slack"]

[[case]]
name = "overspend fires after ten minutes"

[[case.poll]]
at = 2026-11-24T15:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
name = "Summer"
today = {{ spend = 600.0, conversion = 0 }}
[[case.poll.entity]]
level = "campaign"
id = "c2"
today = {{ spend = 900.0 }}

[[case.poll]]
after = "5m"

[[case.poll]]
after = "5m"

[[case.expect]]
poll = 3
rule = "overspend"
firing = {firing}
pending = []
notified = {notified}
actions = {actions}

[[case.poll]]
after = "5m"
[[case.poll.entity]]
level = "campaign"
id = "c1"
today = {{ conversion = 1 }}

[[case.poll]]
at = 2026-11-24T15:20:00Z
[[case.poll.entity]]
level = "campaign"
id = "c2"
gone = true

[[case.expect]]
at = 2026-11-24T15:20:00Z
rule = "overspend"
firing = []
notified = {{ c1 = "resolved" }}
"""


def write(tmp_path: Path, case: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "overspend.toml").write_text(RULES)
    (tmp_path / "test.toml").write_text(case)
    return tmp_path / "test.toml"


def test_the_example_rule_tests_pass():
    report = run_rule_tests(REPO / "rules" / "tests" / "example_test.toml")
    assert report.problems == ()
    assert report.exit_code == 0, render_report(report)
    assert len(report.cases) >= 5 and all(case.passed for case in report.cases)


def test_the_example_rule_tests_do_not_depend_on_the_channels_the_example_rules_use(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    delivery = tmp_path / "rules" / "delivery.toml"
    delivery.write_text(delivery.read_text().replace('notify = ["slack"]', 'notify = ["email", "webhook"]'))
    report = run_rule_tests(tmp_path / "rules" / "tests" / "example_test.toml")
    assert report.exit_code == 0, render_report(report)


def test_paths_are_shown_normalised(tmp_path, monkeypatch):
    write(tmp_path, "")
    (tmp_path / "rules" / "overspend.toml").write_text(RULES.replace("for = ", "fr = "))
    (tmp_path / "tests").mkdir()
    case = CASE.format(firing="[]", notified="{}", actions="{}").replace('"rules/*.toml"', '"../rules/*.toml"')
    (tmp_path / "tests" / "t.toml").write_text(case)
    monkeypatch.chdir(tmp_path)
    report = run_rule_tests("./tests/../tests/t.toml")
    assert report.file == "tests/t.toml"
    assert [str(p) for p in report.problems] == [
        "rules/overspend.toml:5: rule \"overspend\".fr: unknown key; did you mean 'for'?"
    ]


def test_a_passing_case(tmp_path):
    path = write(
        tmp_path, CASE.format(firing='["c1"]', notified='{ c1 = "firing" }', actions='{ c1 = "pause (dry run)" }')
    )
    report = run_rule_tests(path)
    assert report.exit_code == 0, render_report(report)
    assert render_report(report) == f"{path}\n  PASS  overspend fires after ten minutes\n1 case: 1 passed, 0 failed"


def test_an_action_may_be_expected_by_its_type_alone(tmp_path):
    path = write(tmp_path, CASE.format(firing='["c1"]', notified='{ c1 = "firing" }', actions='{ c1 = "pause" }'))
    assert run_rule_tests(path).exit_code == 1
    path = write(tmp_path, CASE.format(firing='["c1"]', notified='{ c1 = "firing" }', actions="{}"))
    assert run_rule_tests(path).exit_code == 1


def test_an_action_that_waits_for_approval_is_expected_as_such(tmp_path):
    path = write(
        tmp_path,
        CASE.format(firing='["c1"]', notified='{ c1 = "firing" }', actions='{ c1 = "pause (waiting for approval)" }'),
    )
    (tmp_path / "rules" / "overspend.toml").write_text(RULES.replace("dry_run = true", 'approve_within = "30m"'))
    assert run_rule_tests(path).exit_code == 0, render_report(run_rule_tests(path))
    (tmp_path / "rules" / "overspend.toml").write_text(RULES.replace("dry_run = true\n", ""))  # acts at once
    report = run_rule_tests(path)
    assert report.exit_code == 1 and 'got {"c1" = "pause"}' in render_report(report)


def test_a_failing_case_is_reported_with_what_was_expected_and_what_happened(tmp_path):
    path = write(
        tmp_path, CASE.format(firing='["c1", "c2"]', notified='{ c1 = "repeat" }', actions='{ c1 = "pause (dry run)" }')
    )
    report = run_rule_tests(path)
    assert report.exit_code == 1
    assert render_report(report) == (
        f"{path}\n"
        "  FAIL  overspend fires after ten minutes\n"
        '        poll 3 at 2026-11-24T15:10:00Z, rule \'overspend\': firing: expected ["c1", "c2"], got ["c1"]\n'
        '          notified: expected {"c1" = "repeat"}, got {"c1" = "firing"}\n'
        "            c1: firing since 2026-11-24T15:10:00Z (spend = 600.0, conversion = 0)\n"
        "            c2: inactive\n"
        "1 case: 0 passed, 1 failed"
    )


def test_an_invalid_test_file_is_exit_2_with_every_problem_located(tmp_path):
    case = CASE.format(firing='["c1"]', notified='{ c1 = "fired" }', actions="{}")
    case = case.replace("today = { spend = 900.0 }", "today = { spend = 900.0, spnd = 1 }")
    path = write(tmp_path, case)
    report = run_rule_tests(path)
    assert report.exit_code == 2
    assert render_report(report).splitlines() == [
        f"{path}:17: {CASE0}.poll[0].entity[1].today.spnd: unknown metric; did you mean 'spend'?",
        f"{path}:30: {CASE0}.expect[0].notified.c1: expected one of firing, repeat, resolved; got 'fired'",
        "2 problem(s) found: no test ran",
    ]


def test_expectations_must_name_existing_rules_polls_and_entities(tmp_path):
    case = CASE.format(firing='["c9"]', notified="{}", actions="{}")
    case = case.replace('poll = 3\nrule = "overspend"', 'poll = 3\nrule = "overspent"')
    case = case.replace("at = 2026-11-24T15:20:00Z\nrule", "at = 2026-11-24T15:21:00Z\nrule")
    case = case.replace("[[case.poll]]\nat = 2026-11-24T15:20:00Z", "[[case.poll]]\nat = 2026-11-24T15:01:00Z")
    path = write(tmp_path, case)
    report = run_rule_tests(path)
    assert report.exit_code == 2
    assert [str(p) for p in report.problems] == [
        f"{path}:27: {CASE0}.expect[0].rule: unknown rule 'overspent'; did you mean 'overspend'?",
        f"{path}:28: {CASE0}.expect[0].firing: no poll of this case has an entity with id 'c9'",
        f"{path}:41: {CASE0}.poll[4].at: polls must be in time order: 2026-11-24T15:01:00Z is not after "
        "2026-11-24T15:15:00Z",
        f"{path}:48: {CASE0}.expect[1].at: no poll at 2026-11-24T15:21:00Z; polls are at 2026-11-24T15:00:00Z, "
        "2026-11-24T15:05:00Z, 2026-11-24T15:10:00Z, 2026-11-24T15:15:00Z, 2026-11-24T15:01:00Z",
    ]


def test_problems_in_the_rule_files_are_reported_as_such(tmp_path):
    path = write(tmp_path, CASE.format(firing="[]", notified="{}", actions="{}"))
    (tmp_path / "rules" / "overspend.toml").write_text(RULES.replace('notify = ["slack"]', 'notify = ["email"]'))
    report = run_rule_tests(path)
    assert report.exit_code == 2
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'rules' / 'overspend.toml'}:6: rule \"overspend\".notify[0]: channel 'email' is not configured "
        f"(configured: slack): add 'email' to channels at {path}:2 (or leave channels out to allow every channel)"
    ]


def test_unreadable_and_malformed_test_files(tmp_path):
    missing = run_rule_tests(tmp_path / "nope.toml")
    assert missing.exit_code == 2
    assert (
        str(missing.problems[0])
        == f"{tmp_path / 'nope.toml'}: cannot read the rule test file: No such file or directory"
    )
    (tmp_path / "bad.toml").write_text("rule_files = [\n")
    assert run_rule_tests(tmp_path / "bad.toml").exit_code == 2
    (tmp_path / "empty.toml").write_text("")
    assert [str(p).split(": ", 1)[1] for p in run_rule_tests(tmp_path / "empty.toml").problems] == [
        "rule_files: required: set rule_files",
        "case: required: set case",
    ]
    (tmp_path / "nofiles.toml").write_text(
        'rule_files = ["missing/*.toml"]\n' + CASE.split("\n", 2)[2].format(firing="[]", notified="{}", actions="{}")
    )
    assert [str(p) for p in run_rule_tests(tmp_path / "nofiles.toml").problems] == [
        f"{tmp_path / 'nofiles.toml'}:1: rule_files[0]: {tmp_path / 'missing' / '*.toml'}: no rule file matches this pattern"
    ]


CURRENCY_RULES = """\
[[rule]]
name = "cpc-usd"
level = "campaign"
when = "cpc > 0.7"
notify = ["slack"]
[rule.match]
currencies = ["USD"]
"""

CURRENCY_CASE = """\
rule_files = ["rules/*.toml"]

[[case]]
name = "a USD threshold on a {currency} account"
currency = "{currency}"

[[case.poll]]
at = 2026-11-24T15:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
today = {{ cpc = 88.07 }}

[[case.expect]]
poll = 1
rule = "cpc-usd"
firing = {firing}
"""


def test_a_case_gives_the_advertisers_currency(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "cpc.toml").write_text(CURRENCY_RULES)
    for currency, firing, code in (("JPY", "[]", 0), ("USD", '["c1"]', 0), ("JPY", '["c1"]', 1)):
        (tmp_path / "test.toml").write_text(CURRENCY_CASE.format(currency=currency, firing=firing))
        report = run_rule_tests(tmp_path / "test.toml")
        assert report.exit_code == code, render_report(report)
    (tmp_path / "test.toml").write_text(CURRENCY_CASE.format(currency="yen", firing="[]"))
    report = run_rule_tests(tmp_path / "test.toml")
    assert report.exit_code == 2
    assert str(report.problems[0]) == (
        f'{tmp_path / "test.toml"}:5: case "a USD threshold on a yen account".currency: is an ISO 4217 code in '
        'capitals, like "USD" or "JPY"; got \'yen\''
    )


HOURLY_RULES = """\
[[rule]]
name = "hot-hour"
level = "campaign"
when = "last_hour.spend > 50 and last_3h.cpc > 1"
notify = ["slack"]
"""

HOURLY_CASE = """\
rule_files = ["rules/*.toml"]

[[case]]
name = "an hourly rule"

[[case.poll]]
at = 2026-11-24T15:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
last_hour = {{ spend = 60 }}
last_3h = {{ cpc = {cpc} }}
this_hour = {{ spend = 1 }}
last_6h = {{ spend = 200 }}

[[case.expect]]
poll = 1
rule = "hot-hour"
firing = {firing}
"""


def test_a_case_gives_hourly_windows_and_a_missing_hour_does_not_fire(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "hours.toml").write_text(HOURLY_RULES)
    for cpc, firing, code in (("1.5", '["c1"]', 0), ('"-"', "[]", 0), ('"-"', '["c1"]', 1), ("0.5", "[]", 0)):
        (tmp_path / "test.toml").write_text(HOURLY_CASE.format(cpc=cpc, firing=firing))
        report = run_rule_tests(tmp_path / "test.toml")
        assert report.exit_code == code, render_report(report)


CHANGED_BY_RULE = """\
[[rule]]
name = "switched-on-by-a-person"
level = "campaign"
when = "changed(operation_status) and operation_status == 'ENABLE' and changed_by == 'a person'"
notify = ["slack"]
"""

CHANGED_BY_CASE = """\
rule_files = ["rules/*.toml"]
channels = ["slack"]

[[case]]
name = "a person switches it on"

[[case.poll]]
at = 2026-11-24T15:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
operation_status = "DISABLE"

[[case.poll]]
after = "5m"
[[case.poll.entity]]
level = "campaign"
id = "c1"
operation_status = "ENABLE"
changed_by = "{who}"

[[case.expect]]
poll = 2
rule = "switched-on-by-a-person"
firing = {firing}
"""


@pytest.mark.parametrize(("who", "firing"), [("a person", '["c1"]'), ("TikTok", "[]")])
def test_changed_by_is_given_per_poll_in_a_rule_test(tmp_path, who, firing):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "who.toml").write_text(CHANGED_BY_RULE)
    (tmp_path / "test.toml").write_text(CHANGED_BY_CASE.format(who=who, firing=firing))
    report = run_rule_tests(tmp_path / "test.toml")
    assert report.exit_code == 0, render_report(report)


def test_a_changed_by_no_rule_can_see_is_refused_in_a_test_file(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "who.toml").write_text(CHANGED_BY_RULE)
    (tmp_path / "test.toml").write_text(CHANGED_BY_CASE.format(who="a persn", firing="[]"))
    report = run_rule_tests(tmp_path / "test.toml")
    assert report.exit_code == 2 and "did you mean 'a person'?" in render_report(report)


BASELINE_RULES = """\
[[rule]]
name = "z"
level = "campaign"
when = "(spend - baseline(spend, weeks=8)) / stddev(spend, weeks=8) > 3 and spend > 2 * baseline(spend)"
notify = ["slack"]
"""

BASELINE_CASE = """\
rule_files = ["rules/*.toml"]

[[case]]
name = "a baseline rule"

[[case.poll]]
at = 2026-11-24T15:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
today = {{ spend = 500 }}
baseline = {{ spend = {baseline} }}
stddev = {{ spend = 50 }}

[[case.expect]]
poll = 1
rule = "z"
firing = {firing}
"""


def test_a_case_gives_baselines_of_any_weeks_and_a_missing_one_does_not_fire(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "z.toml").write_text(BASELINE_RULES)
    for baseline, firing, code in (("200", '["c1"]', 0), ("300", "[]", 0), ('"-"', "[]", 0), ('"-"', '["c1"]', 1)):
        (tmp_path / "test.toml").write_text(BASELINE_CASE.format(baseline=baseline, firing=firing))
        report = run_rule_tests(tmp_path / "test.toml")
        assert report.exit_code == code, render_report(report)


PROFILE_RULES = '[[rule]]\nname = "p"\nlevel = "campaign"\nwhen = "projected_spend > 1000"\nnotify = ["slack"]\n'
PROFILE_CASE = """\
rule_files = ["rules/*.toml"]

[[case]]
name = "projected over the profile"

[[case.poll]]
at = 2026-11-24T12:00:00Z
[[case.poll.entity]]
level = "campaign"
id = "c1"
today = {{ spend = 300 }}
{profile}

[[case.expect]]
poll = 1
rule = "p"
firing = {firing}
"""


def test_a_case_gives_the_hourly_profile_projected_spend_reads(tmp_path):
    # noon UTC: linear 300 / 0.5 = 600; over a profile of 0.25 done by noon, 1200
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "p.toml").write_text(PROFILE_RULES)
    cases = (("profile = { spend = 0.25 }", '["c1"]'), ("", "[]"), ('profile = { spend = "-" }', "[]"))
    for profile, firing in cases:
        (tmp_path / "test.toml").write_text(PROFILE_CASE.format(profile=profile, firing=firing))
        report = run_rule_tests(tmp_path / "test.toml")
        assert report.exit_code == 0, render_report(report)
