"""The hourly windows of one level in a poll: ``stat_time_hour`` reports, one per local date, and their rows
turned into each entity's window values (:mod:`monitor.domain.hourly`).

Every hourly window a rule reads at a level shares the same reports: one for today's hours, plus one for
yesterday's when a window's hours cross local midnight (TikTok's hourly reports cover one day each). A level no
rule reads an hourly window of makes none of these calls. A report that fails leaves its hours unreported, so
every window that needs them is missing (never zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from monitor.domain import Level, MetricValue
from monitor.domain.hourly import parse_hour, report_metrics, window_values
from monitor.domain.windows import HOURLY_WINDOWS, hour_dates, window_hours
from monitor.tiktok.models import Report, ReportQuery

HOUR_DIMENSION = "stat_time_hour"


def hourly_windows(windows: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The hourly ones among a level plan's windows."""
    return {window: metrics for window, metrics in windows.items() if window in HOURLY_WINDOWS}


def hourly_queries(
    level: Level, windows: Mapping[str, tuple[str, ...]], now: datetime, zone: tzinfo
) -> list[tuple[date, ReportQuery]]:
    """The reports the hourly ``windows`` of ``level`` need at ``now``: one per local date, each asking for every
    window's metrics (ratios as their parts)."""
    if not windows:
        return []
    metrics = report_metrics(m for wanted in windows.values() for m in wanted)
    dimensions = (level.id_field, HOUR_DIMENSION)
    return [
        (day, ReportQuery(level, metrics, day, day, dimensions=dimensions))
        for day in hour_dates(list(windows), now, zone)
    ]


@dataclass
class HourlyRows:
    """What a level's hourly reports said: the hours they have, and each entity's rows by hour."""

    reported: set[datetime] = field(default_factory=set)
    rows: dict[str, dict[datetime, dict[str, MetricValue]]] = field(default_factory=dict)

    def add(self, report: Report, id_of: str | tuple[str, ...]) -> None:
        """Take a report's rows; ``id_of`` is the dimension (or dimensions, first present wins) with the id."""
        keys = (id_of,) if isinstance(id_of, str) else id_of
        for row in report.rows:
            hour = parse_hour(row.dimensions.get(HOUR_DIMENSION))
            entity_id = next((row.dimensions[k] for k in keys if row.dimensions.get(k)), None)
            if hour is None or not entity_id:
                continue
            self.reported.add(hour)
            self.rows.setdefault(entity_id, {})[hour] = dict(row.metrics)

    def values(
        self, entity_id: str, windows: Mapping[str, tuple[str, ...]], now: datetime, zone: tzinfo
    ) -> dict[str, dict[str, MetricValue]]:
        """One entity's values per hourly window."""
        mine = self.rows.get(entity_id, {})
        return {
            window: window_values(metrics, window_hours(window, now, zone), self.reported, mine)
            for window, metrics in windows.items()
        }
