"""Where in each interval an advertiser is polled: a stable phase from its id (pure; the scheduler's poll jobs fire
on it, and ``tiktok-monitor status`` computes the next poll without asking the daemon)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "next_poll_at", "phase_offset"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def phase_offset(advertiser_id: str, interval: timedelta) -> timedelta:
    """Where in each interval the advertiser is polled: a stable hash of its id, uniform in ``[0, interval)``.

    Depends on nothing but the id and the interval, so adding an advertiser never moves another one.
    """
    digest = hashlib.sha256(advertiser_id.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(microseconds=int(fraction * (interval // timedelta(microseconds=1))))


def next_poll_at(advertiser_id: str, interval: timedelta, now: datetime) -> datetime:
    """When the advertiser's poll job next fires at or after ``now``: its phase plus a whole number of intervals
    from the epoch, as the job's trigger fires (pure; ``tiktok-monitor status`` computes it without asking the
    daemon). A SIGHUP re-checks paused advertisers at once, outside their phase."""
    start = EPOCH + phase_offset(advertiser_id, interval)
    return start - ((start - now) // interval) * interval
