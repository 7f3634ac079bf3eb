"""The command line as a user runs it: a subprocess, its exit code, what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("command", ["check", "sandbox", "test-rules", "actions", "status"])
def test_each_command_help_shows_an_example(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert f"example: tiktok-monitor {command}" in result.stdout


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
        f"{config}:4: tiktok.max_qps: expected an integer, got 'ten'",
        f'{config}:6: monitor.interval: \'5x\' is not a duration: expected a number with a unit s, m, h or d, like "90s", "5m", "4h"',
        f"{config}:7: monitor.frobnicate: unknown key; expected one of: interval, poll_timeout, rules, templates",
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
