"""The history's tiers, pure: which resolution a poll of a given age is kept at, and the span it stands for.

Like long-running metric stores (Thanos' raw, 5-minute and 1-hour blocks; Prometheus' retention by time), history
is kept at every poll for ``raw``, then as one snapshot per hour up to ``hourly`` (``[storage] retention``), then
one per day up to ``daily``; older history is deleted (monitor.store.prune). The snapshot kept for an hour (day)
is that span's newest poll, so what it says is exactly what that poll saw; the polls before it in the span are
merged into it (monitor.store.compact). Spans are UTC hours and days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

RAW, HOURLY, DAILY = 0, 1, 2
#: What a backtest says of the snapshots of each tier.
RESOLUTION = {RAW: "every poll", HOURLY: "one snapshot per hour", DAILY: "one snapshot per day"}
SPAN = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1)}


@dataclass(frozen=True)
class Tiers:
    """How long each resolution is kept: every poll for ``raw``, hourly up to ``hourly``, daily up to ``daily``."""

    raw: timedelta = timedelta(hours=48)
    hourly: timedelta = timedelta(days=90)
    daily: timedelta = timedelta(days=365)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.raw <= self.hourly <= self.daily:
            raise ValueError(f"tiers must satisfy 0 < raw <= hourly <= daily, got {self}")

    @classmethod
    def following(cls, retention: timedelta) -> Tiers:
        """The defaults around ``retention``: every poll for 48 h (at most ``retention``), hourly up to
        ``retention``, daily up to a year (at least ``retention``)."""
        return cls(min(cls.raw, retention), retention, max(cls.daily, retention))

    def boundary(self, tier: int, now: datetime) -> datetime:
        """Polls started before this are kept at ``tier`` (HOURLY or DAILY) or coarser."""
        return now - (self.raw if tier == HOURLY else self.hourly)


def span_start(moment: datetime, tier: int) -> datetime:
    """The start of the UTC hour (HOURLY) or day (DAILY) that ``moment`` falls in."""
    start = moment.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if tier == DAILY else start


def describe(tiers_seen: set[int]) -> str:
    """The resolution of a run of snapshots of these tiers, finest first ("every poll, then one snapshot per
    hour" reads oldest last)."""
    if not tiers_seen:
        return RESOLUTION[RAW]
    return " / ".join(RESOLUTION[t] for t in sorted(tiers_seen, reverse=True))
