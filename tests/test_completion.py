"""``tiktok-monitor completion``: the generated bash script, run by a real bash with the words a user typed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from monitor.cli import build_parser
from monitor.completion import FUNCTION, script

BASH = shutil.which("bash")


def complete(line: str) -> list[str]:
    """What TAB offers after ``line`` (a trailing space: a new, empty word)."""
    assert BASH is not None
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    program = (
        script(build_parser(), "bash")
        + f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        + f'{FUNCTION}; printf "%s\\n" "${{COMPREPLY[@]}}"\n'
    )
    result = subprocess.run([BASH, "-c", program], capture_output=True, text=True, timeout=30, check=True)
    return [word for word in result.stdout.splitlines() if word]


def test_every_command_of_the_parser_is_completed() -> None:
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.choices and not a.option_strings]
    assert complete("tiktok-monitor ") == list(commands.choices)
    assert "completion" in complete("tiktok-monitor ")


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("tiktok-monitor au", ["auth"]),
        ("tiktok-monitor auth l", ["login"]),
        ("tiktok-monitor auth login --t", ["--token-file", "--timeout"]),
        ("tiktok-monitor actions ", ["resume", "status"]),
        ("tiktok-monitor actions resume --", ["--help", "--config", "--by"]),
        ("tiktok-monitor --log-level w", ["warning"]),
        ("tiktok-monitor --log-format json h", ["history"]),
        ("tiktok-monitor completion ", ["bash", "zsh"]),
        ("tiktok-monitor check --config ", []),  # nothing of its own: the shell completes file names (-o default)
        ("tiktok-monitor test-rules ", []),
    ],
)
def test_completion_offers(line: str, offered: list[str]) -> None:
    assert complete(line) == offered


def test_the_command_prints_the_script_and_zsh_loads_it_through_bashcompinit() -> None:
    bash = subprocess.run(
        [sys.executable, "-m", "monitor", "completion", "bash"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (bash.returncode, bash.stdout) == (0, script(build_parser(), "bash"))
    assert bash.stdout.rstrip().endswith(f"complete -o default -F {FUNCTION} tiktok-monitor")
    zsh = script(build_parser(), "zsh")
    assert zsh.startswith("autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n")
    assert zsh.endswith(bash.stdout)
    fish = subprocess.run(
        [sys.executable, "-m", "monitor", "completion", "fish"], capture_output=True, text=True, timeout=60, check=False
    )
    assert fish.returncode == 2 and "invalid choice: 'fish'" in fish.stderr
