"""An advertiser's calendar: local days, hours and labels in its IANA time zone.

All world times are UTC epoch seconds (floats). Reports, daily budgets and the budget lock window use the
account's own local day, which is what TikTok does (tiktok-api.md §6, §7.1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class AccountCalendar:
    """Local-day arithmetic for one time zone, cached per date."""

    __slots__ = ("_days", "zone")

    def __init__(self, zone_name: str) -> None:
        self.zone = ZoneInfo(zone_name)
        self._days: dict[date, tuple[float, float]] = {}

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.zone)

    def date_of(self, t: float) -> date:
        return self.local(t).date()

    def day_bounds(self, day: date) -> tuple[float, float]:
        """[start, end) of the local ``day`` as epoch seconds."""
        bounds = self._days.get(day)
        if bounds is None:
            start = datetime.combine(day, time(0), self.zone).timestamp()
            end = datetime.combine(day + timedelta(days=1), time(0), self.zone).timestamp()
            bounds = self._days[day] = (start, end)
        return bounds

    def day_of(self, t: float) -> tuple[float, float]:
        """[start, end) of the local day containing ``t``."""
        return self.day_bounds(self.date_of(t))

    def next_midnight(self, t: float) -> float:
        return self.day_of(t)[1]

    def in_budget_lock(self, t: float) -> bool:
        """True in the last five minutes of the local day (23:55–24:00), when TikTok refuses budget edits."""
        local = self.local(t)
        return local.hour == 23 and local.minute >= 55

    def hours(self, day: date) -> list[tuple[str, float, float]]:
        """The local hours of ``day`` as (label "YYYY-MM-DD HH:00:00", start, end); a repeated DST hour is merged."""
        start, end = self.day_bounds(day)
        out: list[tuple[str, float, float]] = []
        t = start
        while t < end:
            nxt = min(t + 3600.0, end)
            label = self.local(t).strftime("%Y-%m-%d %H:00:00")
            if out and out[-1][0] == label:
                out[-1] = (label, out[-1][1], nxt)
            else:
                out.append((label, t, nxt))
            t = nxt
        return out


def utc_text(t: float) -> str:
    """TikTok's entity timestamp format: "YYYY-MM-DD HH:MM:SS" in UTC."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
