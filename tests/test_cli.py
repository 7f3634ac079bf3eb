"""The command line as a user runs it: a subprocess, its exit code, what it prints."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import __version__
from monitor.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or REPO, timeout=60, check=False,
    )  # fmt: skip


def test_help_lists_commands_and_exit_codes():
    result = run("--help")
    assert result.returncode == 0
    assert "check" in result.stdout and "sandbox" in result.stdout
    assert "Exit codes" in result.stdout


@pytest.mark.parametrize(
    "command", ["check", "sandbox", "test-rules", "actions", "completion", "once", "explain", "status"]
)
def test_each_command_help_shows_an_example(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert f"example: tiktok-monitor {command}" in result.stdout


def _commands(parser, prefix=()):
    """Every command and subcommand of the parser, as the words a user types."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


def test_every_command_and_subcommand_has_an_example_in_its_help():
    commands = list(_commands(build_parser()))
    assert len(commands) > 20  # the walk finds the subcommands too
    missing = [words for words, sub in commands if f"tiktok-monitor {' '.join(words)}" not in (sub.epilog or "")]
    assert missing == []


def test_version_prints_the_package_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tiktok-monitor {__version__}"


def test_the_preview_options_are_in_the_help_with_an_example():
    once = run("once", "--help").stdout
    assert "--dry-run" in once and "example: tiktok-monitor once --config config.toml --dry-run" in once
    explain = run("explain", "--help").stdout
    assert all(option in explain for option in ("--advertiser", "--entity", "--stored"))


def test_check_accepts_the_example_config_and_rules():
    env = {"TIKTOK_ACCESS_TOKEN": "t0ken-value-1", "SLACK_BOT_TOKEN": "xoxb-slack-value-2"}
    result = run("check", "--config", str(REPO / "config.example.toml"), env=env)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "rules" in result.stdout
    assert "t0ken-value-1" not in result.stdout + result.stderr
    assert "xoxb-slack-value-2" not in result.stdout + result.stderr


def test_check_warns_about_the_deprecated_max_per_cycle_with_file_and_line(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text('[[rule]]\nname = "x"\nlevel = "campaign"\nwhen = "spend > 5"\n')
    config = tmp_path / "config.toml"
    config.write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[actions]\nmax_per_cycle = 5\n')
    result = run("check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "max_per_cycle" in line]
    assert warning.startswith(f"warning: {config}:5: actions.max_per_cycle: deprecated name of max_writes")
    assert "breaker    at most 5 writes within 5m (every advertiser)" in result.stdout


def test_check_says_where_budget_minimums_are_known_and_warns_about_one_below_tiktoks(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text('[[rule]]\nname = "x"\nlevel = "campaign"\nwhen = "spend > 5"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n\n[actions]\nenabled = true\n'
        "min_budget = { USD = { campaign = 40, adgroup = 25 }, BRL = 100, JPY = 5000 }\n"
    )
    result = run("check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "min_budget" in line]
    assert warnings == [  # JPY 5,000 is at TikTok's documented minimums (5,000 and 2,000): no warning
        f"warning: {config}:7: actions.min_budget.USD: campaign 40.00 USD is below TikTok's documented minimum "
        "(campaign 50.00 USD, adgroup 20.00 USD): TikTok refuses it"
    ]
    assert (
        "budgets    minimums known in EUR, GBP, IDR, JPY, KRW, USD and [actions] min_budget's BRL; in any other "
        "currency a budget change is sent and TikTok's answer decides" in result.stdout
    )


def test_check_reports_rule_file_problems_with_file_and_line(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.toml").write_text('[[rule]]\nname = "x"\nlevel = "campaign"\nwhen = "spendd > 5"\n')
    (tmp_path / "config.toml").write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n')
    result = run("check", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'rules' / 'bad.toml'}:4: ")
    assert "spendd" in first and "did you mean" in first


def test_check_renders_the_templates(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ok.toml").write_text('[[rule]]\nname = "x"\nlevel = "campaign"\nwhen = "spend > 5"\n')
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "alert.txt.j2").write_text("Firing {{ foo(\n")
    (tmp_path / "config.toml").write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[monitor]\ntemplates = "templates"\n'
    )
    result = run("check", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 2, result.stdout
    assert f"{tmp_path / 'templates' / 'alert.txt.j2'}: " in result.stderr


def test_check_refuses_a_database_the_store_cannot_open(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.toml").write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[storage]\nurl = "mysql://x/y"\n'
    )
    result = run("check", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 2
    assert f"{tmp_path / 'config.toml'}:5: storage.url: " in result.stderr
    assert "'mysql' is not supported" in result.stderr


def test_check_warns_about_a_rule_that_neither_notifies_nor_acts(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(
        '[[rule]]\nname = "told"\nlevel = "campaign"\nwhen = "spend > 5"\nnotify = ["slack"]\n\n'
        '[[rule]]\nname = "unheard"\nlevel = "campaign"\nwhen = "spend > 5"\n'
    )
    (tmp_path / "config.toml").write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[slack]\ntoken = "xoxb-1"\nchannel = "#a"\n'
    )
    result = run("check", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {tmp_path / 'rules' / 'a.toml'}:7: rule 'unheard': neither notify nor action: it fires unseen "
        "(only the log and `once` show it)"
    ]


def test_test_rules_runs_the_example_rule_tests():
    result = run("test-rules", str(REPO / "rules" / "tests" / "example_test.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "FAIL" not in result.stdout


def test_check_reports_every_problem_as_one_line_and_exits_2(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[tiktok]\naccess_token = "${MISSING_TOKEN}"\nadvertiser_ids = ["1"]\nmax_qps = "ten"\n'
        '[monitor]\ninterval = "5x"\nfrobnicate = 1\n'
    )
    result = run("check", "--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{config}:2: tiktok.access_token: environment variable MISSING_TOKEN is not set",
        f'{config}:4: tiktok.max_qps: expected an integer, got the string "ten"',
        f'{config}:6: monitor.interval: \'5x\' is not a duration: expected a number with a unit s, m, h or d, like "90s", "5m", "4h"',
        f"{config}:7: monitor.frobnicate: unknown key; expected one of: interval, poll_timeout, rules, templates, "
        "adaptive, min_poll_gap",
        "4 problem(s) found",
    ]
    assert "Traceback" not in result.stderr


def test_check_of_a_missing_file_is_one_line(tmp_path):
    result = run("check", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.toml'}: cannot read the config file: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


# --- issue 15: what a new user tripped over -----------------------------------------------------------------


def test_check_refuses_loose_types_and_values_that_cannot_be_meant(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\nmax_qps = "10"\n'
        '[monitor]\ninterval = "1000d"\n[actions]\nenabled = "yes"\n'
    )
    result = run("check", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{config}:4: tiktok.max_qps: expected an integer, got the string "10" (write numbers without quotes)',
        f"{config}:6: monitor.interval: must be at most 1d (poll at least daily), got '1000d'",
        f'{config}:8: actions.enabled: expected a boolean, got the string "yes" (write true or false, without quotes)',
        "3 problem(s) found",
    ]


def test_check_names_rules_by_name_and_suggests_when_for_condition(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(
        '[[rule]]\nname = "overspend"\nlevel = "campaign"\ncondition = "spend > 5"\n\n'
        '[[rule]]\nname = "huge"\nlevel = "campaign"\nwhen = "spend > 1e400"\naction = { type = "set_budget", to = 1e308 }\n'
    )
    (tmp_path / "config.toml").write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n')
    result = run("check", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 2
    rules = tmp_path / "rules" / "a.toml"
    assert result.stderr.splitlines() == [
        f"{rules}:4: rule \"overspend\".condition: unknown key; did you mean 'when'?",
        f'{rules}:9: rule "huge".when: 1e400 is out of range: a number in a condition must be less than 1e15 in size '
        "(column 9)",
        f'{rules}:10: rule "huge".action.to: must be less than 1e12 (an amount of money), got 1e+308',
        "3 problem(s) found",
    ]


def test_check_reports_a_missing_rules_directory_at_the_config_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n\n[monitor]\nrules = "nope"\n')
    result = run("check", "--config", str(config))
    assert result.returncode == 2
    assert (
        result.stderr.splitlines()[0]
        == f"{config}:6: monitor.rules: {tmp_path / 'nope'}: the rules directory does not exist"
    )


def test_test_rules_takes_several_files_and_directories(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    tests = tmp_path / "rules" / "tests"
    example = (tests / "example_test.toml").read_text()
    (tests / "failing_test.toml").write_text(example.replace('firing = ["1790000000000001"]', "firing = []", 1))
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "broken_test.toml").write_text('rule_files = ["../rules/*.toml"]\n')
    files = sorted(str(path) for path in tests.glob("*.toml"))  # what the shell makes of rules/tests/*.toml
    result = run("test-rules", *files)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "2 test files: 1 passed, 1 failed, 0 invalid"
    result = run("test-rules", "rules/tests", "more", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "rules/tests/example_test.toml"
    assert result.stdout.splitlines()[-1] == "3 test files: 1 passed, 1 failed, 1 invalid"
    assert "more/broken_test.toml: case: required: set case" in result.stderr
    result = run("test-rules", "rules/tests/../tests/example_test.toml", "rules/tests/", cwd=tmp_path)
    assert result.stdout.splitlines()[0] == "rules/tests/example_test.toml"


def test_sandbox_extra_advertisers_out_of_range_is_refused():
    result = run("sandbox", "--port", "0", "--extra-advertisers", "10000")
    assert result.returncode == 1
    assert "--extra-advertisers must be between 0 and 9999" in result.stderr


def test_sandbox_serves_the_extra_advertisers_asked_for(tmp_path):
    import json
    import socket
    import time
    import urllib.request

    from monitor.sandbox.settings import extra_advertiser_id

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "sandbox", "--port", str(port), "--extra-advertisers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    ids = json.dumps([extra_advertiser_id(0), extra_advertiser_id(1)])
    url = f"http://127.0.0.1:{port}/open_api/v1.3/advertiser/info/?advertiser_ids={urllib.parse.quote(ids)}"
    request = urllib.request.Request(url, headers={"Access-Token": "sandbox-token"})
    try:
        for _ in range(200):
            assert server.poll() is None, "the sandbox did not start"
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                    body = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(10)
    assert body["code"] == 0
    assert sorted(a["advertiser_id"] for a in body["data"]["list"]) == [extra_advertiser_id(0), extra_advertiser_id(1)]


def test_sandbox_flat_delivery_is_an_option_off_by_default() -> None:
    from monitor.sandbox.curve import AMPLITUDE
    from monitor.sandbox_command import sandbox_settings

    parser = build_parser()
    assert parser.parse_args(["sandbox", "--flat-delivery"]).flat_delivery is True
    assert parser.parse_args(["sandbox"]).flat_delivery is False
    options = dict(token="t", app_id="1", secret="s", qps=10, large_ads=0, extra_advertisers=0, smart_plus=0)
    flat = sandbox_settings(**options, webhook_window=None, flat_delivery=True)  # type: ignore[arg-type]
    usual = sandbox_settings(**options, webhook_window=None, flat_delivery=False)  # type: ignore[arg-type]
    assert flat.delivery_amplitude == 0.0 and usual.delivery_amplitude == AMPLITUDE > 0
