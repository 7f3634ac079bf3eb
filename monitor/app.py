"""The commands: each one loads its settings, gets its objects from the composition root (:mod:`monitor.wiring`)
and runs (``check`` and ``test-rules`` live in :mod:`monitor.checking`).

The command line (:mod:`monitor.cli`, which parses the arguments) calls one function here per command. The
configuration file is loaded here, through :func:`monitor.config.load_settings` (``demo`` writes and loads one of
its own). The environment is read only where each variable is used, not here: ``${VAR}`` references in the
configuration file (:mod:`monitor.config`), ``TIKTOK_APP_ID`` / ``TIKTOK_APP_SECRET`` as defaults of ``auth``'s
options (:mod:`monitor.cli`), where ``auth login`` keeps the token (``STATE_DIRECTORY``, ``XDG_STATE_HOME``,
``HOME``: :mod:`monitor.auth.tokenfile`), systemd's ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` / ``WATCHDOG_PID``
(:mod:`monitor.sdnotify`), ``SLACK_BOT_TOKEN`` / ``SLACK_CHANNEL`` for the demo (:mod:`monitor.demo`) and
``TIKTOK_MONITOR_TRACEMALLOC_DIR`` for ``run``'s memory snapshots (:mod:`monitor.memsnap`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from monitor.checking import check as check  # the command line calls every command through this module
from monitor.checking import print_problems
from monitor.checking import test_rules as test_rules
from monitor.clock import Clock, SystemClock
from monitor.config import Settings, load_settings
from monitor.errors import ConfigError, MonitorError
from monitor.gctune import start_up_over, tune_collector
from monitor.logs import setup_logging

if TYPE_CHECKING:
    from monitor.sandbox import SandboxSettings

# Each command imports the modules it uses in its own function, so a command loads only its own part of the
# package and its libraries (tests/structure/test_startup_imports.py; bench/startup.py measures it).

log = logging.getLogger("monitor")

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _settings_or_exit(config: str | Path) -> Settings | int:
    try:
        return load_settings(config)
    except ConfigError as exc:
        return print_problems(exc)


def _log_warnings(settings: Settings) -> None:
    for warning in settings.warnings:
        log.warning("%s", warning)


def run(config: str | Path, *, log_level: str = "info", log_format: str = "text") -> int:
    """The daemon: polls on schedule until SIGTERM/SIGINT."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    redactor = setup_logging(log_level, log_format, settings.secrets())
    _log_warnings(settings)
    from monitor.daemon import run_daemon

    return _run_async(run_daemon(settings, redactor=redactor), long_lived=True)


def once(config: str | Path, *, dry_run: bool = False, log_level: str = "warning", log_format: str = "text") -> int:
    """One full cycle over every advertiser, then a one-screen summary; 1 when any poll failed. ``dry_run``: the
    preview, which writes nothing anywhere (:mod:`monitor.preview.dryrun`)."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    _log_warnings(settings)
    if dry_run:
        from monitor.preview.dryrun import run_preview

        return _run_async(run_preview(settings))
    from monitor.once import run_once

    return _run_async(run_once(settings, progress=sys.stderr.isatty()))


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
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.preview.explain_command import run_explain

    return _run_async(run_explain(settings, rule, advertiser=advertiser, entity=entity, stored=stored))


def history(
    config: str | Path,
    *,
    rule: str | None = None,
    entity: str | None = None,
    advertiser: str | None = None,
    since: str | None = None,
    limit: int = 50,
    reasons: bool = False,
    log_level: str = "warning",
    log_format: str = "text",
) -> int:
    """Print the action journal, newest first, filtered; 2 for a bad --since or --limit."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.actions.history import parse_since
    from monitor.actions.history import render as render_history
    from monitor.wiring import open_store

    try:
        start = parse_since(since, datetime.now(UTC)) if since else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    if limit < 1:
        print("--limit must be at least 1", file=sys.stderr)
        return EXIT_INVALID

    async def show() -> int:
        store = await open_store(settings)
        try:
            entries = await store.journal.history(
                advertiser_id=advertiser, rule=rule, entity_id=entity, since=start, limit=limit
            )
            currencies = {record.id: record.currency for record in await store.advertisers()}
        finally:
            await store.close()
        sys.stdout.write(render_history(entries, reasons=reasons, currencies=currencies))
        return EXIT_OK

    return _run_async(show())


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
    settings = _settings_or_exit(config)
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

    return _run_async(run_backtest(settings, since=start, rules=rules, advertiser=advertiser, as_json=as_json))


def revert(
    config: str | Path,
    entry_id: int,
    *,
    dry_run: bool = False,
    by: str | None = None,
    log_level: str = "warning",
    log_format: str = "text",
) -> int:
    """Undo journal entry ``entry_id`` through the guard rails, journaled with who asked (``by``, default the OS
    user); 0 when done (or, dry run, would be), else 1."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.wiring import api_session, open_store, steering_of

    async def undo() -> int:
        clock = SystemClock()
        store = await open_store(settings, clock)
        try:
            async with api_session() as session:
                steering = steering_of(settings, store, clock, session)
                result = await steering.revert(entry_id, by=by or os_user(), dry_run=dry_run)
        finally:
            await store.close()
        print(result.message, file=sys.stdout if result.ok else sys.stderr)
        return EXIT_OK if result.ok else EXIT_FAILED

    return _run_async(undo())


def actions(
    config: str | Path,
    command: str,
    *,
    by: str | None = None,
    log_level: str = "warning",
    log_format: str = "text",
) -> int:
    """``actions resume``: close the circuit breaker (recorded with ``by``, default the OS user); ``actions
    status``: print it. 0 done (resume with the breaker closed already says so), 2 for a bad configuration."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    return _run_async(run_actions(settings, command, by=by))


async def run_actions(
    settings: Settings, command: str, *, by: str | None = None, clock: Clock | None = None, out: TextIO | None = None
) -> int:
    """The work of :func:`actions` (``command`` is ``resume`` or ``status``), printing on ``out``."""
    from monitor.actions import GuardSettings
    from monitor.actions.breaker import Breaker, render_breaker, resumed_text
    from monitor.wiring import open_store

    clock = clock or SystemClock()
    out = out or sys.stdout
    store = await open_store(settings, clock)
    try:
        breaker = Breaker(store.breaker, clock, GuardSettings.from_config(settings.actions, settings.monitor.interval))
        if command == "resume":
            out.write(resumed_text(await breaker.resume(by or os_user())) + "\n")
        else:
            out.write(render_breaker(await breaker.status(), breaker.settings))
    finally:
        await store.close()
    return EXIT_OK


def status(config: str | Path, *, as_json: bool = False, log_level: str = "warning", log_format: str = "text") -> int:
    """Print what the monitor sees now (advertisers, alerts, silences, holds, breaker, outbox), read from the
    database: as text, or JSON (docs/status.md). 0 printed, 1 the database could not be read, 2 bad config."""
    settings = _settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    from monitor.status.command import run_status

    return _run_async(run_status(settings, as_json=as_json))


def os_user() -> str:
    """Who runs this command, as the OS says (the uid when it has no name for it, as in some containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def silence(args: argparse.Namespace) -> int:
    """``silence add | list | expire`` (see :mod:`monitor.silencing`); 2 for a bad configuration or silence."""
    from monitor.silencing import Request, run_silence

    settings = _settings_or_exit(args.config)
    if isinstance(settings, int):
        return settings
    level = args.log_level if args.log_level != "info" else "warning"
    setup_logging(level, args.log_format, settings.secrets())
    request = None
    if args.silence_command == "add":
        by = args.by or os_user()
        request = Request(args.matchers, args.duration, args.until, args.start, args.comment, by)
    return _run_async(
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

    settings = _settings_or_exit(args.config)
    if isinstance(settings, int):
        return settings
    level = args.log_level if args.log_level != "info" else "warning"
    setup_logging(level, args.log_format, settings.secrets())
    return _run_async(
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

    return _run_async(run_demo(cycles=cycles, redactor=redactor), long_lived=True)


def _run_async(work: Coroutine[Any, Any, int], *, long_lived: bool = False) -> int:
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


def auth(args: argparse.Namespace) -> int:
    """``auth url|login|exchange|advertisers``: see monitor.auth.commands."""
    from monitor.auth import commands
    from monitor.wiring import build_client

    setup_logging(args.log_level, args.log_format, [getattr(args, "secret", None) or ""])
    if args.auth_command == "advertisers":
        settings = _settings_or_exit(args.config)
        if isinstance(settings, int):
            return settings
        try:
            settings = commands.with_app_keys(settings, args.app_id, getattr(args, "secret", None))
        except ConfigError as exc:
            return print_problems(exc)
        setup_logging(args.log_level, args.log_format, settings.secrets())
        listed = settings
        return _print_result(
            commands.advertisers(lambda session: build_client(listed, session), listed.actions.min_budget)
        )
    if not args.app_id:
        print("the app id is needed: set TIKTOK_APP_ID (or pass --app-id)", file=sys.stderr)
        return EXIT_INVALID
    app = commands.AppCredentials(args.app_id, getattr(args, "secret", None), args.base_url.rstrip("/"))
    if args.auth_command == "url":
        print(commands.url(app, port=args.port, redirect=args.redirect_uri))
        return EXIT_OK
    if args.auth_command == "login":
        work = commands.login_and_store(
            app,
            port=args.port,
            wait=args.timeout,
            print_token=args.print_token,
            token_file=args.token_file,
            force=args.force,
        )
    else:
        work = commands.exchange_and_store(
            app, args.code, print_token=args.print_token, token_file=args.token_file, force=args.force
        )
    return _print_result(work, stream=sys.stderr)


def _print_result(work: Coroutine[Any, Any, str], *, stream: TextIO = sys.stdout) -> int:
    try:
        text = asyncio.run(work)
    except MonitorError as exc:  # AuthFlowError, TokenFileError, ApiError: their messages hold no secret
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(text, file=stream, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


def sandbox_settings(
    *,
    token: str,
    app_id: str,
    secret: str,
    qps: int,
    large_ads: int,
    extra_advertisers: int,
    smart_plus: int,
    webhook_window: float | None,
    flat_delivery: bool,
) -> SandboxSettings:
    """The sandbox command's options as the settings it serves with (see :func:`sandbox`)."""
    from monitor.sandbox import SandboxSettings
    from monitor.sandbox.curve import AMPLITUDE

    return SandboxSettings(
        token=token,
        app_id=app_id,
        secret=secret,
        qps=qps,
        large_ads=large_ads,
        extra_advertisers=extra_advertisers,
        campaigns_per_advertiser=3 + smart_plus,
        smart_plus_campaigns=smart_plus,
        webhook_window=webhook_window,
        delivery_amplitude=0.0 if flat_delivery else AMPLITUDE,
    )


def sandbox(
    *,
    host: str,
    port: int,
    token: str,
    app_id: str,
    secret: str,
    qps: int,
    large_ads: int,
    extra_advertisers: int = 0,
    smart_plus: int = 0,
    webhook_window: float | None = None,
    flat_delivery: bool = False,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Serve the simulated Business API until interrupted. ``smart_plus``: Upgraded Smart+ campaigns added to
    each regular advertiser's three; ``webhook_window``: seconds between REPORT_DATA_CHANGE notices of one
    advertiser instead of the subscription's notify_frequency; ``flat_delivery``: spend rates that do not swing
    over the day (:attr:`SandboxSettings.delivery_amplitude` 0)."""
    from monitor.sandbox import serve_forever

    setup_logging(log_level, log_format)
    if smart_plus < 0:
        log.error("--smart-plus must not be negative")
        return EXIT_FAILED
    if not 0 <= extra_advertisers <= 9999:
        log.error("--extra-advertisers must be between 0 and 9999")
        return EXIT_FAILED
    if webhook_window is not None and not webhook_window > 0:
        log.error("--webhook-window must be positive")
        return EXIT_FAILED
    settings = sandbox_settings(
        token=token,
        app_id=app_id,
        secret=secret,
        qps=qps,
        large_ads=large_ads,
        extra_advertisers=extra_advertisers,
        smart_plus=smart_plus,
        webhook_window=webhook_window,
        flat_delivery=flat_delivery,
    )
    start_up_over()  # the collector on, as it was before monitor.gctune.start_up (it serves until stopped)
    try:
        asyncio.run(serve_forever(settings, host, port))
    except KeyboardInterrupt:
        log.info("sandbox stopped")
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", host, port, exc.strerror or exc)
        return EXIT_FAILED
    return EXIT_OK
