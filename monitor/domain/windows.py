"""Report windows: their names and the local dates each one covers.

Windows are dates in the advertiser's own time zone: ``today``; ``yesterday``; ``last_3d`` .. ``last_30d``, the N
complete days before today (as Ads Manager's "last N days"); ``lifetime`` (no dates). Bare metric names in a rule
read the rule's ``window`` (default ``today``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

Window = Literal["today", "yesterday", "last_3d", "last_7d", "last_14d", "last_30d", "lifetime"]
#: Every window, shortest first.
WINDOWS: tuple[str, ...] = ("today", "yesterday", "last_3d", "last_7d", "last_14d", "last_30d", "lifetime")
DEFAULT_WINDOW = "today"
#: The windows of the N complete days before today.
LAST_N_DAYS = {"last_3d": 3, "last_7d": 7, "last_14d": 14, "last_30d": 30}


def window_dates(window: str, today: date) -> tuple[date, date] | None:
    """The first and last local date (inclusive) of ``window`` when the advertiser's date is ``today``;
    None for ``lifetime``. Raises ValueError for a name that is not a window."""
    if window == "today":
        return today, today
    if window == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if window in LAST_N_DAYS:
        return today - timedelta(days=LAST_N_DAYS[window]), today - timedelta(days=1)
    if window == "lifetime":
        return None
    raise ValueError(f"unknown window {window!r}")
