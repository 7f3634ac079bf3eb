"""Composition root: turns settings into objects and runs a command with them.

The command line calls one function here per command; nothing else in the package reads arguments,
the environment or the configuration file.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from monitor.config import Settings, load_settings
from monitor.daemon import run_daemon
from monitor.demo import run_demo
from monitor.errors import ConfigError, MonitorError
from monitor.logs import setup_logging
from monitor.once import run_once
from monitor.rules.loader import configured_channels, load_rules, summarize
from monitor.rules.testing import render_report, run_rule_tests

log = logging.getLogger("monitor")

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _print_problems(exc: ConfigError) -> int:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
    return EXIT_INVALID


def check(config: str | Path, *, log_level: str = "info", log_format: str = "text") -> int:
    """Validate the configuration and every rule file; print every problem on its own line, or a summary."""
    setup_logging(log_level, log_format)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        return _print_problems(exc)
    try:
        ruleset = load_rules(settings.monitor.rules, channels=configured_channels(settings))
    except ConfigError as exc:
        return _print_problems(exc)
    tiktok = settings.tiktok
    advertisers = ", ".join(tiktok.advertiser_ids) if tiktok.advertiser_ids else "every advertiser the token reaches"
    channels = [name for name in ("slack", "email") if getattr(settings, name) is not None]
    print(f"{settings.source}: OK")
    print(f"  API        {tiktok.base_url} (at most {tiktok.max_qps} requests/s)")
    print(f"  watching   {advertisers}, every {settings.monitor.interval}")
    print(f"  storage    {settings.storage.url}")
    print(f"  channels   {', '.join(channels) or 'none (alerts only in the log)'}")
    print(f"  actions    {'enabled' if settings.actions.enabled else 'disabled: every action is a dry run'}")
    print(summarize(ruleset))
    return EXIT_OK


def test_rules(path: str | Path, *, log_level: str = "warning", log_format: str = "text") -> int:
    """Run a rule unit-test file: pass/fail per case; 0 all passed, 1 a case failed, 2 the file is invalid."""
    setup_logging(log_level, log_format)
    report = run_rule_tests(path)
    print(render_report(report), file=sys.stderr if report.problems else sys.stdout)
    return report.exit_code


def _settings_or_exit(config: str | Path) -> Settings | int:
    try:
        return load_settings(config)
    except ConfigError as exc:
        return _print_problems(exc)


def run(config: str | Path, *, log_level: str = "info", log_format: str = "text") -> int:
    """The daemon: polls on schedule until SIGTERM/SIGINT."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    return _run_async(run_daemon(settings))


def once(config: str | Path, *, log_level: str = "warning", log_format: str = "text") -> int:
    """One full cycle over every advertiser, then a one-screen summary; 1 when any poll failed."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    return _run_async(run_once(settings, progress=sys.stderr.isatty()))


def demo(*, cycles: int | None = None, log_level: str = "warning", log_format: str = "text") -> int:
    """The sandbox, a temporary database and the example rules; alerts print to the terminal."""
    redactor = setup_logging(log_level, log_format)
    return _run_async(run_demo(cycles=cycles, redactor=redactor))


def _run_async(work: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(work)
    except ConfigError as exc:  # rules checked at start-up
        return _print_problems(exc)
    except MonitorError as exc:  # e.g. a database written by a newer version
        log.error("%s", exc)
        return EXIT_FAILED


def sandbox(
    *,
    host: str,
    port: int,
    token: str,
    app_id: str,
    secret: str,
    qps: int,
    large_ads: int,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Serve the simulated Business API until interrupted."""
    from monitor.tiktok.sandbox import SandboxSettings, serve_forever

    setup_logging(log_level, log_format)
    settings = SandboxSettings(token=token, app_id=app_id, secret=secret, qps=qps, large_ads=large_ads)
    try:
        asyncio.run(serve_forever(settings, host, port))
    except KeyboardInterrupt:
        log.info("sandbox stopped")
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", host, port, exc.strerror or exc)
        return EXIT_FAILED
    return EXIT_OK
