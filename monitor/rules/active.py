"""A rule's active time (``active = "08:00-20:00"``, ``active_days = ["mon", ...]``), in the advertiser's time zone.

Like Alertmanager's ``active_time_intervals``: outside its active time a rule is still evaluated and its alerts
keep their lifecycle (pending, firing, resolved, as ``status`` shows), but they neither notify nor act. An alert
that started firing outside the active time and still fires when it begins is notified (and its action run) then.
Pure: the local time is passed in.

A range is ``HH:MM-HH:MM``: from the first minute (included) to the second (excluded), ``24:00`` for the end of
the day; a range that crosses midnight is written as two (``["20:00-24:00", "00:00-06:00"]``). Days are
``mon`` ... ``sun``; a range belongs to the day it is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from monitor.rules.names import WEEKDAYS

_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class ActiveTime:
    """When a rule may notify and act: ``ranges`` (minutes of the day, start included, end excluded; empty:
    all day) on ``days`` (``mon`` ... ``sun``; None: every day)."""

    ranges: tuple[tuple[int, int], ...] = ()
    days: frozenset[str] | None = None

    def contains(self, local: datetime) -> bool:
        """Whether ``local`` (the advertiser's local time) is within the active time."""
        if self.days is not None and WEEKDAYS[local.weekday()] not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        return not self.ranges or any(start <= minute < end for start, end in self.ranges)

    def __str__(self) -> str:
        hours = ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in self.ranges) or "all day"
        if self.days is None:
            return hours
        return f"{hours} on {', '.join(day for day in WEEKDAYS if day in self.days)}"


def parse_range(text: str) -> tuple[int, int]:
    """``"08:00-20:00"`` -> (480, 1200). Raises ValueError with a message for people."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'expected a time range like "08:00-20:00", got {text!r}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > DAY_MINUTES:
        raise ValueError(f"{text!r}: hours are 00:00 to 24:00")
    if end <= start:
        halves = f'["{_hhmm(start)}-24:00", "00:00-{_hhmm(end)}"]'
        hint = f" (across midnight write two ranges: {halves})" if end < start else ""
        raise ValueError(f"{text!r}: the end must be after the start{hint}")
    return start, end


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
