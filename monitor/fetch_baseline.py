"""Baselines in a poll: past days' hourly reports fetched once and stored, and each entity's baseline values.

A level's plan lists a baseline pseudo window (``baseline_4w``, ``stddev_3w``: :mod:`monitor.domain.baseline`)
only when a rule reads one there; without one this module makes no call and reads nothing. With one, a poll:

1. works out the local dates the baselines read today (the same weekday 1 .. ``weeks`` weeks back);
2. fetches the ones not stored yet (:mod:`monitor.store.hourly`) with every metric the level's baselines need:
   one ``stat_time_hour`` report per local date (TikTok's hourly reports cover one day each), at most
   :data:`DAYS_PER_POLL` per poll for the whole advertiser, newest first, so a first use backfills over a few
   polls within the API budget. Each day fetched is stored at once and never fetched again (the dates are a
   week old or more: complete). A report that fails is an error of the poll; its day is tried again next poll;
3. reads the stored days and sets each entity's pseudo windows (missing until two of the weeks are stored).

**Calls**: none without a baseline rule; with one, in steady state one report per level per local day (the day
a week ago; the older ones were fetched in earlier weeks), on first use up to ``weeks`` per level, paced.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from monitor.domain import EntityState, Level, MetricValue
from monitor.domain.baseline import baseline_at, baseline_values, needed_days, parse_window
from monitor.domain.hourly import parse_hour, report_metrics
from monitor.fetch_hours import HOUR_DIMENSION
from monitor.store.hourly import HourlyHistory, Hours
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.cooperative import cooperative
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import AdvertiserInfo, Report, ReportQuery

log = logging.getLogger(__name__)

#: Past days fetched per poll of one advertiser, all levels together (the backfill's pace).
DAYS_PER_POLL = 2
#: The ad-level report dimension that keys Upgraded Smart+ ads (as monitor.fetch uses it).
SMART_PLUS_AD_DIMENSION = "ad_id_v2"


def baseline_windows(windows: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The baseline pseudo windows among a level plan's windows."""
    return {window: metrics for window, metrics in windows.items() if parse_window(window) is not None}


def days_to_fetch(
    needed: Sequence[date], stored: Mapping[date, frozenset[str]], metrics: Collection[str], limit: int
) -> list[date]:
    """The ``needed`` dates (newest first) not stored with every one of ``metrics``: at most ``limit`` of them."""
    wanted = set(metrics)
    return [day for day in needed if not wanted <= stored.get(day, frozenset())][: max(limit, 0)]


def day_rows(report: Report, id_of: tuple[str, ...]) -> dict[str, Hours]:
    """A day's report as entity id -> local hour -> metric -> value (rows without an id or hour left out)."""
    out: dict[str, Hours] = {}
    for row in report.rows:
        hour = parse_hour(row.dimensions.get(HOUR_DIMENSION))
        entity_id = next((row.dimensions[k] for k in id_of if row.dimensions.get(k)), None)
        if hour is not None and entity_id:
            out.setdefault(entity_id, {})[hour.hour] = dict(row.metrics)
    return out


async def with_baselines(
    client: TikTokClient,
    history: HourlyHistory,
    advertiser: AdvertiserInfo,
    plans: Mapping[Level, Mapping[str, tuple[str, ...]]],
    states: Sequence[EntityState],
    now: datetime,
) -> tuple[list[EntityState], list[str]]:
    """``states`` with their baseline windows set (for the levels whose ``plans``, level -> windows, have any),
    and the errors of the reports that failed. Auth errors propagate."""
    wanted = {level: found for level, windows in plans.items() if (found := baseline_windows(windows))}
    if not wanted:
        return list(states), []
    today, until = baseline_at(now, advertiser.zone())
    budget, errors = DAYS_PER_POLL, list[str]()
    values: dict[tuple[Level, str], dict[str, dict[str, MetricValue]]] = {}
    for level, windows in wanted.items():
        metrics = report_metrics(m for wanted_metrics in windows.values() for m in wanted_metrics)
        needed = needed_days(list(windows), today)
        stored = await history.stored_days(advertiser.id, level, needed)
        fresh: dict[date, dict[str, Hours]] = {}
        for day in days_to_fetch(needed, stored, metrics, budget):
            budget -= 1
            rows = await _fetch_day(client, advertiser.id, level, day, metrics, _smart_plus(level, states), errors)
            if rows is not None:
                await history.save_day(advertiser.id, level, day, metrics, rows, now)
                fresh[day], stored[day] = rows, frozenset(metrics)
        complete = {day for day, had in stored.items() if set(metrics) <= had}
        loaded = await history.load(advertiser.id, level, {d: stored[d] for d in complete if d not in fresh})
        for day, rows in fresh.items():
            for entity_id, hours in rows.items():
                loaded.setdefault(entity_id, {})[day] = hours
        async for state in cooperative(states):  # 10,000 ads' 4 weeks take about 1.5 s of CPU: let others run
            if state.level is level:
                days = loaded.get(state.id, {})
                values[(level, state.id)] = baseline_values(windows, days, complete, today, until)
    return [_with(state, values.get(state.key)) for state in states], errors


def _with(state: EntityState, windows: Mapping[str, Mapping[str, MetricValue]] | None) -> EntityState:
    if not windows:
        return state
    return replace(state, metrics={**{w: dict(m) for w, m in state.metrics.items()}, **windows})


def _smart_plus(level: Level, states: Iterable[EntityState]) -> bool:
    return level is Level.AD and any(s.smart_plus for s in states if s.level is Level.AD)


async def _fetch_day(
    client: TikTokClient,
    advertiser_id: str,
    level: Level,
    day: date,
    metrics: tuple[str, ...],
    smart_plus: bool,
    errors: list[str],
) -> dict[str, Hours] | None:
    """One past local day's hourly report at ``level``; None (and an error noted) when it failed."""
    id_field = SMART_PLUS_AD_DIMENSION if smart_plus else level.id_field
    query = ReportQuery(level, metrics, day, day, dimensions=(id_field, HOUR_DIMENSION))
    try:
        report = await client.report(advertiser_id, query)
        if report.truncated:  # more ads than the sync report covers: the task has no cap
            report = await client.async_report(advertiser_id, query)
    except AuthError:
        raise
    except ApiError as exc:
        log.warning("advertiser %s: hourly history of %s not fetched, tried next poll: %s", advertiser_id, day, exc)
        errors.append(f"{level.value} hourly history for {day.isoformat()}: {exc}")
        return None
    id_of = (SMART_PLUS_AD_DIMENSION, level.id_field) if level is Level.AD else (level.id_field,)
    return day_rows(report, id_of)
