"""Baselines and hourly profiles in a poll: past days' hourly reports fetched once and stored, and each entity's
baseline values and profile share.

A level's plan lists a baseline pseudo window (``baseline_4w``, ``stddev_3w``: :mod:`monitor.domain.baseline`)
only when a rule reads one there, and the profile window (``profile_14d``: :mod:`monitor.domain.profile`) only when
a rule reads ``projected_spend`` there; without one this module makes no call and reads nothing. With one, a poll:

1. works out the local dates they read today (the same weekday 1 .. ``weeks`` weeks back; the last 14 days for a
   profile);
2. fetches the ones not stored yet (:mod:`monitor.store.hourly`) with every metric the level's baselines need:
   one ``stat_time_hour`` report per local date (TikTok's hourly reports cover one day each), at most
   :data:`DAYS_PER_POLL` per poll for the whole advertiser, newest first, so a first use backfills over a few
   polls within the API budget. Each day fetched is stored at once and never fetched again (the dates are a
   week old or more, a profile's yesterday only once its report has settled: complete). A report that fails is
   an error of the poll; its day is tried again next poll;
3. reads the stored days and sets each entity's pseudo windows (missing until two of the weeks are stored; a
   profile's share until three days with delivery are).

**Calls**: none without a baseline or projected_spend rule; with one, in steady state one report per level per
local day (the day a week ago, or yesterday for a profile; the older ones were fetched before), on first use up
to ``weeks`` (14 for a profile) per level, paced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from monitor.domain import EntityState, Level, MetricValue
from monitor.domain.baseline import DayRows, baseline_at, baseline_values, needed_days
from monitor.domain.hourly import parse_hour, report_metrics
from monitor.domain.profile import PROFILE_METRIC, PROFILE_WINDOW, profile_days, profile_share, reads_history
from monitor.fetch_hours import HOUR_DIMENSION
from monitor.store.hourly import HourlyHistory, Hours, StoredDay
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.cooperative import cooperative
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import SMART_PLUS_AD_DIMENSION, AdvertiserInfo, Report, ReportQuery

log = logging.getLogger(__name__)

#: Past days fetched per poll of one advertiser, all levels together (the backfill's pace).
DAYS_PER_POLL = 2
#: The ad-level report dimension that keys Upgraded Smart+ ads (as monitor.fetch uses it).


def baseline_windows(windows: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The pseudo windows made from stored hourly history (baselines, the hourly profile) among a level plan's
    windows."""
    return {window: metrics for window, metrics in windows.items() if reads_history(window)}


def history_days(windows: Collection[str], today: date, until: float) -> list[date]:
    """Every past local date the history ``windows`` read on ``today`` at the local time ``until``, newest first."""
    days = set(needed_days(list(windows), today))
    if PROFILE_WINDOW in windows:
        days.update(profile_days(today, until))
    return sorted(days, reverse=True)


def history_values(
    windows: Mapping[str, Collection[str]],
    days: Mapping[date, DayRows | None],
    stored: Collection[date],
    today: date,
    until: float,
) -> dict[str, dict[str, MetricValue]]:
    """One entity's history windows: its baselines (:func:`~monitor.domain.baseline.baseline_values`) and its
    hourly profile's share (:func:`~monitor.domain.profile.profile_share`) when ``windows`` has them."""
    out = baseline_values(windows, days, stored, today, until)
    if PROFILE_WINDOW in windows:
        share = profile_share({d: rows for d, rows in days.items() if rows}, stored, today, until)
        out[PROFILE_WINDOW] = {PROFILE_METRIC: share}
    return out


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
        needed = history_days(windows, today, until)
        stored = await history.stored_days(advertiser.id, level, needed)
        fresh: dict[date, dict[str, Hours]] = {}
        for day in days_to_fetch(needed, stored, metrics, budget):
            budget -= 1
            rows = await _fetch_day(client, advertiser.id, level, day, metrics, _smart_plus(level, states), errors)
            if rows is not None:
                await history.save_day(advertiser.id, level, day, metrics, rows, now)
                fresh[day], stored[day] = rows, StoredDay(metrics)
        complete = {day for day, had in stored.items() if set(metrics) <= had}
        loaded = await history.load(advertiser.id, level, {d: stored[d] for d in complete if d not in fresh})
        for day, rows in fresh.items():
            for entity_id, hours in rows.items():
                loaded.setdefault(entity_id, {})[day] = hours
        async for state in cooperative(states):  # 10,000 ads' 4 weeks take about 1.5 s of CPU: let others run
            if state.level is level:
                days = loaded.get(state.id, {})
                values[(level, state.id)] = history_values(windows, days, complete, today, until)
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
        await report.table_off_loop()  # (a task's CSV is read when first used: a body it cannot read is this error)
    except AuthError:
        raise
    except ApiError as exc:
        log.warning("advertiser %s: hourly history of %s not fetched, tried next poll: %s", advertiser_id, day, exc)
        errors.append(f"{level.value} hourly history for {day.isoformat()}: {exc}")
        return None
    id_of = (SMART_PLUS_AD_DIMENSION, level.id_field) if level is Level.AD else (level.id_field,)
    return await asyncio.to_thread(day_rows, report, id_of)  # up to 24 rows per entity: off the event loop
