"""The commands: each one loads its settings, gets its objects from the composition root (:mod:`monitor.wiring`)
or the module that does its work, and runs. The command line (:mod:`monitor.cli`, which parses the arguments)
calls one function here per command: ``run``, ``once``, ``explain``, ``backtest``, ``status``, ``silence``,
``approvals`` and ``demo`` are here; ``check`` and ``test-rules`` live in :mod:`monitor.checking`, ``history``,
``revert`` and ``actions`` in :mod:`monitor.journal_commands`, ``auth`` in :mod:`monitor.auth_command` and
``sandbox`` in :mod:`monitor.sandbox_command`, each imported on first use (what every command does around its
work, loading the settings and running, is :mod:`monitor.command_support`).

The configuration file is loaded by each command, through :func:`monitor.config.load_settings` (``demo`` writes
and loads one of its own). The environment is read only where each variable is used, not here: ``${VAR}``
references in the configuration file (:mod:`monitor.config`), ``TIKTOK_APP_ID`` / ``TIKTOK_APP_SECRET`` as
defaults of ``auth``'s options (:mod:`monitor.cli`), where ``auth login`` keeps the token (``STATE_DIRECTORY``,
``XDG_STATE_HOME``, ``HOME``: :mod:`monitor.auth.tokenfile`), systemd's ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` /
``WATCHDOG_PID`` (:mod:`monitor.sdnotify`), ``SLACK_BOT_TOKEN`` / ``SLACK_CHANNEL`` for the demo
(:mod:`monitor.demo`) and ``TIKTOK_MONITOR_TRACEMALLOC_DIR`` for ``run``'s memory snapshots (:mod:`monitor.memsnap`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.command_support import EXIT_INVALID, log_warnings, os_user, run_async, settings_or_exit
from monitor.lazy import lazy_exports
from monitor.logs import setup_logging

if TYPE_CHECKING:
    from monitor.auth_command import auth as auth
    from monitor.checking import check as check  # the command line calls every command through this module
    from monitor.checking import test_rules as test_rules
    from monitor.journal_commands import actions as actions
    from monitor.journal_commands import history as history
    from monitor.journal_commands import revert as revert
    from monitor.sandbox_command import sandbox as sandbox

# Each command imports the modules it uses in its own function, so a command loads only its own part of the
# package and its libraries (tests/structure/test_startup_imports.py; bench/startup.py measures it); the commands
# of other modules are imported when the command line first asks for them.
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("actions", "history", "revert"), "monitor.journal_commands"),
        "auth": "monitor.auth_command",
        **dict.fromkeys(("check", "test_rules"), "monitor.checking"),
        "sandbox": "monitor.sandbox_command",
    },
)


def run(config: str | Path, *, log_level: str = "info", log_format: str = "text") -> int:
    """The daemon: polls on schedule until SIGTERM/SIGINT."""
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    redactor = setup_logging(log_level, log_format, settings.secrets())
    log_warnings(settings)
    from monitor.daemon import run_daemon
    from monitor.lazy import load_later

    load_later()  # what once loads lazily, the daemon loads now (see monitor.lazy.LATER)
    return run_async(run_daemon(settings, redactor=redactor), long_lived=True)


def once(config: str | Path, *, dry_run: bool = False, log_level: str = "warning", log_format: str = "text") -> int:
    """One full cycle over every advertiser, then a one-screen summary; 1 when any poll failed. ``dry_run``: the
    preview, which writes nothing anywhere (:mod:`monitor.preview.dryrun`)."""
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    log_warnings(settings)
    if dry_run:
        from monitor.preview.dryrun import run_preview

        return run_async(run_preview(settings))
    from monitor.once import run_once

    return run_async(run_once(settings, progress=sys.stderr.isatty()))


def explain(
    config: str | Path,
    rule: str,
    *,
    advertiser: str | None = None,
    entity: str | None = None,
    stored: bool = False,
    log_level: str = "warning",
    log_format: str = "text",
) -> int:
    """Print why ``rule`` fires or not for each entity (:mod:`monitor.preview.explain_command`); 2 for an unknown
    rule, 1 when an advertiser could not be read."""
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.preview.explain_command import run_explain

    return run_async(run_explain(settings, rule, advertiser=advertiser, entity=entity, stored=stored))


def backtest(
    config: str | Path,
    *,
    rules: Path | None = None,
    since: str = "7d",
    advertiser: str | None = None,
    as_json: bool = False,
    log_level: str = "warning",
    log_format: str = "text",
) -> int:
    """Replay rule files over the stored history and print what would have fired (monitor.backtest.command);
    2 for a bad --since, configuration or rule file."""
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.actions.history import parse_since

    try:
        start = parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    from monitor.backtest.command import run_backtest

    return run_async(run_backtest(settings, since=start, rules=rules, advertiser=advertiser, as_json=as_json))


def status(config: str | Path, *, as_json: bool = False, log_level: str = "warning", log_format: str = "text") -> int:
    """Print what the monitor sees now (advertisers, alerts, silences, holds, breaker, outbox), read from the
    database: as text, or JSON (docs/status.md). 0 printed, 1 the database could not be read, 2 bad config."""
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.status.command import run_status

    return run_async(run_status(settings, as_json=as_json))


def silence(args: argparse.Namespace) -> int:
    """``silence add | list | expire`` (see :mod:`monitor.silencing`); 2 for a bad configuration or silence."""
    from monitor.silencing import Request, run_silence

    settings = settings_or_exit(args.config)
    if isinstance(settings, int):
        return settings
    level = args.log_level if args.log_level != "info" else "warning"
    setup_logging(level, args.log_format, settings.secrets())
    request = None
    if args.silence_command == "add":
        by = args.by or os_user()
        request = Request(args.matchers, args.duration, args.until, args.start, args.comment, by)
    return run_async(
        run_silence(
            settings,
            args.silence_command,
            request=request,
            silence_id=getattr(args, "id", None),
            include_expired=getattr(args, "include_expired", False),
            by=getattr(args, "by", None) or os_user(),
            out=sys.stdout,
            err=sys.stderr,
        )
    )


def approvals(args: argparse.Namespace) -> int:
    """``approvals list | approve ID | reject ID`` (see :mod:`monitor.approving`); 1 for a refused decision."""
    from monitor.approving import run_approvals

    settings = settings_or_exit(args.config)
    if isinstance(settings, int):
        return settings
    level = args.log_level if args.log_level != "info" else "warning"
    setup_logging(level, args.log_format, settings.secrets())
    return run_async(
        run_approvals(
            settings,
            args.approvals_command,
            approval_id=getattr(args, "id", None),
            by=getattr(args, "by", None) or os_user(),
            include_decided=getattr(args, "include_decided", False),
            out=sys.stdout,
            err=sys.stderr,
        )
    )


def demo(*, cycles: int | None = None, log_level: str = "warning", log_format: str = "text") -> int:
    """The sandbox, a temporary database and the example rules; alerts print to the terminal."""
    redactor = setup_logging(log_level, log_format)
    from monitor.demo import run_demo

    return run_async(run_demo(cycles=cycles, redactor=redactor), long_lived=True)
