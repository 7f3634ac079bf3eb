"""``tiktok-monitor backtest``: the configured (or given) rule files over the stored history, read-only.

Opens the configured database without migrating it (a database of another schema version is refused: nothing
is ever written), replays each advertiser's stored polls from ``--since`` on in time order
(:mod:`monitor.store.replay`, :mod:`monitor.backtest.replay`) and prints what would have fired and what each
action would have done, as a table or ``--json``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from monitor.actions.base import GuardSettings
from monitor.backtest.model import Report
from monitor.backtest.render import render_json, render_table
from monitor.backtest.replay import replay
from monitor.clock import SystemClock
from monitor.config import Settings
from monitor.domain import zone_or_utc
from monitor.errors import MonitorError
from monitor.rules.loader import configured_channels, load_rules
from monitor.rules.model import RuleSet
from monitor.store import db, migrate
from monitor.store import replay as history
from monitor.store.repo import DEFAULT_LEASE_TTL, DEFAULT_RETENTION, Store


class BacktestError(MonitorError):
    """The backtest cannot run: the database is not of this version's schema, or the advertiser is unknown."""


async def run_backtest(
    settings: Settings,
    *,
    since: datetime,
    rules: Path | None = None,
    advertiser: str | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Replay ``rules`` (default: ``[monitor] rules``) over the stored polls of every stored advertiser (or only
    ``advertiser``) from ``since`` on; print the report on ``out``. Raises :class:`ConfigError` for invalid rule
    files, :class:`BacktestError` when it cannot read the history."""
    out = out or sys.stdout
    ruleset = load_rules(rules or settings.monitor.rules, channels=configured_channels(settings))
    guards = GuardSettings.from_config(settings.actions, settings.monitor.interval)
    report = await backtest(settings.storage.url, ruleset, guards, since=since, advertiser=advertiser)
    out.write(render_json(report) if as_json else render_table(report))
    return 0


async def backtest(
    url: str,
    ruleset: RuleSet,
    guards: GuardSettings,
    *,
    since: datetime,
    advertiser: str | None = None,
    schema: str | None = None,
) -> Report:
    """The report of ``ruleset`` over the database at ``url`` (in ``schema``, PostgreSQL; read only)."""
    engine = db.create_engine(url, schema=schema)
    try:
        found, head = await migrate.current_revisions(engine), migrate.head_revision()
        if found != (head,):
            stamped = ", ".join(found) or "none (no monitor database)"
            raise BacktestError(
                f"the database's schema is at {stamped}, this monitor's at {head}: run `tiktok-monitor check` "
                "or the daemon of this version first (a backtest writes nothing, not even a migration)"
            )
        store = Store(
            engine, clock=SystemClock(), retention=DEFAULT_RETENTION, lease_ttl=DEFAULT_LEASE_TTL, owner="backtest"
        )
        records = await store.advertisers()
        if advertiser is not None:
            records = [r for r in records if r.id == advertiser]
            if not records:
                raise BacktestError(f"advertiser {advertiser} has no stored history in this database")
        report = Report(since=since)
        for record in records:
            report.tiers |= await history.tiers_since(engine, record.id, since)
            await replay(
                ruleset,
                history.snapshots(engine, record.id, since),
                zone=zone_or_utc(record.timezone),
                currency=record.currency,
                settings=guards,
                report=report,
                advertiser_id=record.id,
            )
        return report
    finally:
        await engine.dispose()
