"""The hourly profile projected_spend extrapolates with (issue 19, item 2): which past days it reads, which count,
the share by this local time, time zones, and the projection over it (monitor.domain.profile). Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.domain.profile import (
    MIN_PROFILE_DAYS,
    MIN_SHARE,
    PROFILE_DAYS,
    SETTLE_HOURS,
    profile_days,
    profile_share,
    profile_share_at,
    projection,
)

TODAY = date(2026, 11, 25)


def flat(per_hour: float = 1.0) -> dict[int, dict[str, float]]:
    """A day spending the same every hour."""
    return {hour: {"spend": per_hour} for hour in range(24)}


def evening() -> dict[int, dict[str, float]]:
    """A day spending 1 an hour until 18:00, then 10 an hour: 78 in all, 12 of them by noon."""
    return {hour: {"spend": 1.0 if hour < 18 else 10.0} for hour in range(24)}


def days_before(today: date, *rows: dict[int, dict[str, float]], first: int = 1) -> dict[date, dict]:
    return {today - timedelta(days=first + i): day for i, day in enumerate(rows)}


def test_the_days_read_yesterday_only_once_settled():
    assert profile_days(TODAY, SETTLE_HOURS) == tuple(TODAY - timedelta(days=d) for d in range(1, PROFILE_DAYS + 1))
    before = profile_days(TODAY, SETTLE_HOURS - 0.01)  # yesterday's hourly report may still be incomplete
    assert before == tuple(TODAY - timedelta(days=d) for d in range(2, PROFILE_DAYS + 2))
    assert (PROFILE_DAYS, MIN_PROFILE_DAYS, MIN_SHARE) == (14, 3, 0.05)


@pytest.mark.parametrize(
    ("days", "until", "expected"),
    [
        (days_before(TODAY, flat(), flat(), flat()), 12.0, 0.5),
        (days_before(TODAY, flat(), flat(2.0), flat(5.0)), 12.0, 0.5),  # shares, not amounts
        (days_before(TODAY, flat(), flat(), flat()), 12.5, 12.5 / 24),  # the current hour pro rata
        (days_before(TODAY, evening(), evening(), evening()), 12.0, 12 / 78),  # the account's shape
        (days_before(TODAY, flat(), evening(), evening()), 18.0, (0.75 + 18 / 78 * 2) / 3),
        (days_before(TODAY, flat(), flat()), 12.0, None),  # two days with delivery: too little history
        (days_before(TODAY, flat(), flat(), flat(0.0)), 12.0, None),  # a day spending nothing is no sample
        (days_before(TODAY, flat(), flat(), {}), 12.0, None),  # a day without a row: no delivery, no sample
        (days_before(TODAY, flat(), flat(), flat(), first=PROFILE_DAYS - 1), 12.0, None),  # two are too old
        (days_before(TODAY, {20: {"spend": 3.0}}, flat(), flat()), 12.0, (0 + 0.5 + 0.5) / 3),  # late: share 0
        (days_before(TODAY, {h: {"spend": None} for h in range(24)}, flat(), flat()), 12.0, None),  # no number
    ],
)
def test_the_share_by_this_time(days, until, expected):
    got = profile_share(days, stored=set(days), today=TODAY, until=until)
    assert got == (None if expected is None else pytest.approx(expected))


def test_a_day_not_stored_is_no_sample():
    days = days_before(TODAY, flat(), flat(), flat())
    assert profile_share(days, stored=set(list(days)[:2]), today=TODAY, until=12.0) is None


def test_yesterday_is_left_out_until_it_settled():
    # yesterday spent everything early; it counts at 06:00 but not at 05:00 (then the window starts a day earlier)
    days = {**days_before(TODAY, flat(), flat(), flat(), first=2), TODAY - timedelta(days=1): {0: {"spend": 9.0}}}
    assert profile_share(days, set(days), TODAY, 5.0) == pytest.approx(5 / 24)
    assert profile_share(days, set(days), TODAY, 6.0) == pytest.approx((1 + 3 * 6 / 24) / 4)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # 23:00 UTC on 25 November is 13:00 on the 26th in Kiritimati (UTC+14): the 25th is its yesterday, settled
        ("Pacific/Kiritimati", (1.0 + 3 * 13 / 24) / 4),
        # ... and 12:00 on the 25th in Pago Pago (UTC-11): the 25th is today there, not history
        ("Pacific/Pago_Pago", 0.5),
        ("UTC", 23 / 24),
    ],
)
def test_the_local_date_and_time_of_the_zone(zone, expected):
    now = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
    history = {date(2026, 11, 25): {0: {"spend": 5.0}}, **days_before(date(2026, 11, 25), flat(), flat(), flat())}
    assert profile_share_at(now, ZoneInfo(zone), history, set(history)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("spend", "linear", "profile", "expected"),
    [
        (300.0, 0.5, None, 600.0),  # no profile: linear
        (300.0, 0.5, 0.25, 1200.0),  # the profile's share
        (300.0, 0.5, MIN_SHARE, 6000.0),
        (300.0, 0.5, MIN_SHARE / 2, None),  # the profile says almost nothing is done by now: no wild number
        (300.0, None, 0.5, None),  # before MIN_HOURS: no projection at all, profile or not
        (None, 0.5, 0.5, None),  # no spend reported: no data
        (0.0, 0.5, 0.25, 0.0),  # nothing spent is 0
    ],
)
def test_the_projection(spend, linear, profile, expected):
    assert projection(spend, linear, profile) == (None if expected is None else pytest.approx(expected))
