"""The advertiser's local day at a poll: the hour, the weekday, and how much of the day is gone. Pure.

:func:`local_day` gives what the ``when`` language reads about time: ``hour`` (0-23), ``weekday`` ("mon" ..
"sun"), ``day_elapsed`` (the fraction of the local day gone, 0 at local midnight) and ``base``, the fraction
today's spend is extrapolated from for ``projected_spend`` and ``pace``.

The day is measured in real time from local midnight to the next local midnight, so a day with a daylight
saving change is 23 or 25 hours long and ``day_elapsed`` still runs from 0 to 1.

``base`` is the **linear** share (``day_elapsed``): ``pace`` divides by it, and ``projected_spend`` does when the
entity has no hourly profile (:mod:`monitor.domain.profile`: with one it divides by the share of a day's spend
the entity usually has done by now). Early in the day a projection is a wild number (5 minutes in, one click
projects a fortune), so before :data:`MIN_HOURS` hours of the local day are gone there is none at all (``base``
is None: "no data", never a guess), profile or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from monitor.domain import zone_or_utc
from monitor.rules.names import WEEKDAYS

__all__ = ["MIN_HOURS", "LocalDay", "local_day", "spend_share"]

#: Hours of the local day that must be gone before today's spend is extrapolated to the whole day.
MIN_HOURS = 2.0


@dataclass(frozen=True, slots=True)
class LocalDay:
    """The advertiser's local time at one moment, as rules read it."""

    hour: int
    weekday: str
    elapsed: float  # day_elapsed: the fraction of the local day gone, in [0, 1)
    base: float | None  # the share of a day's spend expected by now; None: too early to extrapolate


def local_day(now: datetime, zone: tzinfo | str | None) -> LocalDay:
    """The local day at ``now`` in ``zone`` (a name or tzinfo; None or an unknown name: UTC)."""
    tz = zone_or_utc(zone)
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight.astimezone(UTC)  # in UTC: arithmetic within one ZoneInfo ignores DST changes
    end = (midnight + timedelta(days=1)).astimezone(UTC)
    gone = now - start
    elapsed = gone / (end - start)
    return LocalDay(local.hour, WEEKDAYS[local.weekday()], elapsed, spend_share(elapsed, gone))


def spend_share(elapsed: float, gone: timedelta) -> float | None:
    """The linear share of a whole day's spend expected after ``gone`` (``elapsed`` of the local day): the
    fraction of the day gone (an entity's hourly profile replaces it for projected_spend where it exists:
    :func:`monitor.domain.profile.projection`). None before :data:`MIN_HOURS` hours: too early for an honest
    projection."""
    if gone < timedelta(hours=MIN_HOURS):
        return None
    return elapsed
