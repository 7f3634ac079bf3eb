"""The account's own hourly profile: the share of a day's spend usually done by this local time. Pure.

``projected_spend`` extrapolates today's spend to the whole local day. Linearly (spend / day_elapsed) it
overshoots in the evening peak's absence and undershoots before it: an entity that spends most in the evening
has done far less than ``day_elapsed`` of its day by noon. So when hourly history exists, the share comes from
the entity's own past days (at its level: a campaign's from its campaign rows):

* the past days read are the :data:`PROFILE_DAYS` local dates before today (:func:`profile_days`); yesterday
  only once :data:`SETTLE_HOURS` of today are gone (TikTok's hourly data lags, and a stored day is never fetched
  again), else the window starts the day before yesterday;
* a day is a sample when its report is stored and the entity spent something that whole day (a day without
  delivery says nothing about how a day's spend is spread);
* its share is the spend from 00:00 up to this local time (the hours before it whole, the current one pro rata:
  :func:`~monitor.domain.baseline.day_sums`) over the whole day's spend;
* the profile's share is the mean of the samples' shares, with at least :data:`MIN_PROFILE_DAYS` samples;
  fewer (a new account, a history not fetched yet): no profile, and the projection is linear.

:func:`projection` combines it with the linear share: no projection at all early in the day (the linear share
is None before :data:`monitor.rules.pacing.MIN_HOURS` hours), the profile's when there is one, but no data when
the profile says less than :data:`MIN_SHARE` of a day's spend is usually done by now (dividing by a tiny share is
the wild number the early-day rule keeps out), else linear.

In rules the profile is read as the pseudo window :data:`PROFILE_WINDOW` (metric ``spend``: the share), filled by
:mod:`monitor.fetch_baseline` from the hourly history :mod:`monitor.store.hourly` keeps, and stored with the
snapshot like any window.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta, tzinfo

from monitor.domain.baseline import DayRows, baseline_at, day_sums, parse_window

#: Past local days an hourly profile reads.
PROFILE_DAYS = 14
#: Past days with delivery needed before the profile replaces the linear share.
MIN_PROFILE_DAYS = 3
#: Local hours of today that must be gone before yesterday's hourly report is read (and stored for good).
SETTLE_HOURS = 6.0
#: Below this share of a day's spend usually done by now, projected_spend is no data rather than a wild number.
MIN_SHARE = 0.05
#: The pseudo window holding an entity's profile share (metric "spend"), as rules read it.
PROFILE_WINDOW = f"profile_{PROFILE_DAYS}d"
#: The weeks of stored hourly history a profile reads, as the maintenance job counts them (yesterday's settling
#: day too).
PROFILE_WEEKS = (PROFILE_DAYS + 1 + 6) // 7
#: The metric the profile is made of.
PROFILE_METRIC = "spend"
#: The whole local day in hours (a day with a daylight saving change still has its hours labelled 00 .. 23).
_WHOLE_DAY = 24.0

__all__ = [
    "MIN_PROFILE_DAYS",
    "MIN_SHARE",
    "PROFILE_DAYS",
    "PROFILE_METRIC",
    "PROFILE_WEEKS",
    "PROFILE_WINDOW",
    "SETTLE_HOURS",
    "profile_days",
    "profile_share",
    "profile_share_at",
    "projection",
    "reads_history",
]


def reads_history(window: str) -> bool:
    """Whether a pseudo window is made from stored hourly history: a baseline's, or the profile's."""
    return window == PROFILE_WINDOW or parse_window(window) is not None


def profile_days(today: date, until: float) -> tuple[date, ...]:
    """The past local dates a profile reads on ``today`` at the local time ``until`` (hours), newest first."""
    first = 1 if until >= SETTLE_HOURS else 2
    return tuple(today - timedelta(days=back) for back in range(first, first + PROFILE_DAYS))


def profile_share(days: Mapping[date, DayRows], stored: Collection[date], today: date, until: float) -> float | None:
    """The mean share of a day's spend done by the local time ``until`` over the entity's past days (``days``:
    its rows by local date, a stored date missing from it had no row; ``stored``: the dates whose reports are
    kept); None with fewer than :data:`MIN_PROFILE_DAYS` days with delivery."""
    shares = []
    for day in profile_days(today, until):
        rows = days.get(day)
        if day not in stored or not rows:
            continue
        whole = day_sums(rows, (PROFILE_METRIC,), _WHOLE_DAY)[PROFILE_METRIC]
        done = day_sums(rows, (PROFILE_METRIC,), until)[PROFILE_METRIC]
        if whole is None or done is None or whole <= 0:
            continue
        shares.append(done / whole)
    if len(shares) < MIN_PROFILE_DAYS:
        return None
    return sum(shares) / len(shares)


def profile_share_at(
    now: datetime, zone: tzinfo, days: Mapping[date, DayRows], stored: Collection[date]
) -> float | None:
    """:func:`profile_share` at ``now`` (aware) in the advertiser's ``zone``: its local date and time of day."""
    today, until = baseline_at(now, zone)
    return profile_share(days, stored, today, until)


def projection(spend: float | None, linear: float | None, profile: float | None) -> float | None:
    """Today's ``spend`` extrapolated to the whole day: over the ``profile`` share when there is one (None when it
    is below :data:`MIN_SHARE`), else over the ``linear`` share (day_elapsed); None when ``linear`` is None (too
    early in the day for any projection) or the spend is unknown."""
    if spend is None or not linear:
        return None
    if profile is None:
        return spend / linear
    return spend / profile if profile >= MIN_SHARE else None
