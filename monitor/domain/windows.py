"""Report windows: their names and the local dates (or hours) each one covers.

Windows are dates in the advertiser's own time zone: ``today``; ``yesterday``; ``last_3d`` .. ``last_30d``, the N
complete days before today (as Ads Manager's "last N days"); ``lifetime`` (no dates). Bare metric names in a rule
read the rule's ``window`` (default ``today``).

Hourly windows are local hours, read from ``stat_time_hour`` reports (one local day per report):
``this_hour`` is the current local hour so far; ``last_hour`` the previous complete local hour; ``last_3h`` and
``last_6h`` the last 3 and 6 complete local hours (the current one not included). A window whose hours cross local
midnight spans two local dates (:func:`hour_dates`), so it takes two reports. How their values are summed is
:mod:`monitor.domain.hourly`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

Window = Literal[
    "today", "yesterday", "last_3d", "last_7d", "last_14d", "last_30d", "lifetime",
    "this_hour", "last_hour", "last_3h", "last_6h",
]  # fmt: skip
#: Every window: the daily ones shortest first, then the hourly ones.
WINDOWS: tuple[str, ...] = (
    "today", "yesterday", "last_3d", "last_7d", "last_14d", "last_30d", "lifetime",
    "this_hour", "last_hour", "last_3h", "last_6h",
)  # fmt: skip
DEFAULT_WINDOW = "today"
#: The windows of the N complete days before today.
LAST_N_DAYS = {"last_3d": 3, "last_7d": 7, "last_14d": 14, "last_30d": 30}
#: The hourly windows: name -> (hours back of the first one, hours back of the last one); 0 is the current hour.
HOURLY_WINDOWS = {"this_hour": (0, 0), "last_hour": (1, 1), "last_3h": (3, 1), "last_6h": (6, 1)}


def window_dates(window: str, today: date) -> tuple[date, date] | None:
    """The first and last local date (inclusive) of a daily ``window`` when the advertiser's date is ``today``;
    None for ``lifetime``. Raises ValueError for a name that is not a daily window (hourly ones: :func:`hour_dates`)."""
    if window == "today":
        return today, today
    if window == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if window in LAST_N_DAYS:
        return today - timedelta(days=LAST_N_DAYS[window]), today - timedelta(days=1)
    if window == "lifetime":
        return None
    if window in HOURLY_WINDOWS:
        raise ValueError(f"{window} is an hourly window: its hours are window_hours(), its dates hour_dates()")
    raise ValueError(f"unknown window {window!r}")


def window_hours(window: str, now: datetime, zone: tzinfo) -> tuple[datetime, ...]:
    """The local hours of an hourly ``window`` at the instant ``now`` (aware), oldest first: each the naive local
    start of the hour, as TikTok labels ``stat_time_hour`` ("2026-11-25 14:00:00"). Counted in real hours, so a
    day that changes to or from daylight saving time still has the right hours (a repeated local hour is one
    label, as TikTok reports it). Raises ValueError for a name that is not an hourly window."""
    if window not in HOURLY_WINDOWS:
        raise ValueError(f"{window!r} is not an hourly window")
    first, last = HOURLY_WINDOWS[window]
    local = now.astimezone(zone)
    current = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    hours = (
        (current - timedelta(hours=back)).astimezone(zone).replace(minute=0, tzinfo=None)
        for back in range(first, last - 1, -1)
    )
    return tuple(dict.fromkeys(hours))


def hour_dates(windows: tuple[str, ...] | list[str], now: datetime, zone: tzinfo) -> tuple[date, ...]:
    """The local dates the hourly ``windows`` cover at ``now``, oldest first: one per report to read (two when a
    window crosses local midnight)."""
    days = {hour.date() for window in windows for hour in window_hours(window, now, zone)}
    return tuple(sorted(days))
