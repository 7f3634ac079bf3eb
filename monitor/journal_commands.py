"""The commands on what the monitor did and may do: ``history`` (the action journal, filtered), ``revert`` (undo
one of its entries through the guard rails, journaled with who asked) and ``actions resume|status`` (the
circuit breaker). Each loads its settings and opens the store itself (:mod:`monitor.wiring`)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from monitor.clock import Clock, SystemClock
from monitor.command_support import EXIT_FAILED, EXIT_INVALID, EXIT_OK, os_user, run_async, settings_or_exit
from monitor.config import Settings
from monitor.logs import setup_logging


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
    settings = settings_or_exit(config)
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

    return run_async(show())


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
    settings = settings_or_exit(config)
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

    return run_async(undo())


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
    settings = settings_or_exit(config)
    if isinstance(settings, int):
        return settings
    setup_logging(log_level, log_format, settings.secrets())
    return run_async(run_actions(settings, command, by=by))


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
