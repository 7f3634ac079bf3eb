"""What every command does around its work: its exit codes, loading the configuration (or printing its problems
and exiting 2), running its coroutine (errors that stop it become an exit code) and naming who runs it.

Imported by each command's module (:mod:`monitor.app`, :mod:`monitor.journal_commands`,
:mod:`monitor.auth_command`, :mod:`monitor.sandbox_command`): only what every command loads anyway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError, MonitorError
from monitor.gctune import tune_collector

log = logging.getLogger("monitor")  # the commands' logger, as before they were split from monitor.app

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def print_problems(exc: ConfigError) -> int:
    """Each problem on its own line on stderr, then their count; the exit code of an invalid configuration."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
    return EXIT_INVALID


def settings_or_exit(config: str | Path) -> Settings | int:
    """The settings of ``config``, or, when it is invalid, its problems printed and the exit code to return."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        return print_problems(exc)


def log_warnings(settings: Settings) -> None:
    """Log what the configuration warned about (``run`` and ``once``; ``check`` prints them)."""
    for warning in settings.warnings:
        log.warning("%s", warning)


def run_async(work: Coroutine[Any, Any, int], *, long_lived: bool = False) -> int:
    """Run a command's coroutine, the collector tuned for it (``long_lived``: it runs until stopped); an error
    that stops it is logged or printed and becomes the exit code."""
    tune_collector(collect=long_lived)  # after the command's imports: see monitor.gctune
    try:
        return asyncio.run(work)
    except ConfigError as exc:  # rules checked at start-up
        return print_problems(exc)
    except MonitorError as exc:  # e.g. a database written by a newer version
        log.error("%s", exc)
        return EXIT_FAILED
    except OSError as exc:  # e.g. the health port is taken
        log.error("cannot start: %s", exc)
        return EXIT_FAILED


def os_user() -> str:
    """Who runs this command, as the OS says (the uid when it has no name for it, as in some containers)."""
    import getpass  # (and termios) only for the commands that record who ran them, not at every start

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
