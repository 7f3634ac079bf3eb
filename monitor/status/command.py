"""The ``status`` command's work: settings in, the report printed (``monitor.app.status`` loads the settings)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.actions.base import GuardSettings
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.rules.loader import configured_channels, load_rules
from monitor.status.collect import SilenceSource, collect
from monitor.status.render_json import render_json
from monitor.status.render_text import render_text
from monitor.wiring import open_store

EXIT_OK = 0


async def run_status(
    settings: Settings,
    *,
    as_json: bool = False,
    clock: Clock | None = None,
    out: TextIO | None = None,
    silences: SilenceSource | None = None,
) -> int:
    """Read the status from the configured database and print it on ``out`` (text, or JSON). Severities come from
    the rule files; when they cannot be loaded the report says so and shows none. ``silences`` (default: the
    store's) is where the silences come from."""
    clock = clock or SystemClock()
    out = out or sys.stdout
    notes = []
    try:
        ruleset = load_rules(settings.monitor.rules, channels=configured_channels(settings))
        severities = {rule.name: rule.severity.value for rule in ruleset}
    except ConfigError as exc:
        severities = {}
        notes.append(f"the rule files have {len(exc.problems)} problem(s) (tiktok-monitor check): severities unknown")
    store = await open_store(settings, clock)
    try:
        report = await collect(
            store,
            clock.now(),
            interval=settings.monitor.interval,
            guards=GuardSettings.from_config(settings.actions, settings.monitor.interval),
            configured=settings.tiktok.configured_advertiser_ids(),
            severities=severities,
            silences=silences,
            notes=notes,
        )
    finally:
        await store.close()
    out.write(render_json(report) if as_json else render_text(report))
    return EXIT_OK
