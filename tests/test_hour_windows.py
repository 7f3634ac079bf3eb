"""The hourly windows' semantics (issue 19, item 3): which local hours and dates each covers, and the values
summed from TikTok's hourly rows, in time zones far from UTC and across local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.domain import Level
from monitor.domain.hourly import NOT_HOURLY, report_metrics, window_values
from monitor.domain.windows import hour_dates, window_dates, window_hours
from monitor.rules.resolve import resolve

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11
NEW_YORK = ZoneInfo("America/New_York")


def h(text: str) -> datetime:
    return datetime.fromisoformat(text)


# (zone, now in UTC, window, local hours oldest first)
HOURS = [
    # 2026-11-25 10:20 UTC is 2026-11-26 00:20 in Kiritimati: the hours before are the 25th's, the day before
    (KIRITIMATI, "2026-11-25T10:20", "this_hour", ["2026-11-26T00:00"]),
    (KIRITIMATI, "2026-11-25T10:20", "last_hour", ["2026-11-25T23:00"]),
    (KIRITIMATI, "2026-11-25T10:20", "last_3h", ["2026-11-25T21:00", "2026-11-25T22:00", "2026-11-25T23:00"]),
    # the same instant is 2026-11-24 23:20 in Pago Pago: a day behind UTC
    (PAGO_PAGO, "2026-11-25T10:20", "this_hour", ["2026-11-24T23:00"]),
    (PAGO_PAGO, "2026-11-25T10:20", "last_hour", ["2026-11-24T22:00"]),
    (PAGO_PAGO, "2026-11-25T13:05", "last_3h", ["2026-11-24T23:00", "2026-11-25T00:00", "2026-11-25T01:00"]),
    (PAGO_PAGO, "2026-11-25T13:05", "last_6h", [f"2026-11-24T{x}:00" for x in range(20, 24)]
     + ["2026-11-25T00:00", "2026-11-25T01:00"]),
    # a whole hour on the hour: this_hour has just begun, last_hour is the one that just ended
    (NEW_YORK, "2026-11-25T20:00", "this_hour", ["2026-11-25T15:00"]),
    (NEW_YORK, "2026-11-25T20:00", "last_hour", ["2026-11-25T14:00"]),
    # daylight saving time ends in New York on 2026-11-01: 01:00 comes twice, one label as TikTok's
    (NEW_YORK, "2026-11-01T08:30", "last_3h", ["2026-11-01T01:00", "2026-11-01T02:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "now", "window", "expected"), HOURS)
def test_the_hours_of_a_window_are_local_ones(zone, now, window, expected):
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert window_hours(window, at, zone) == tuple(h(x) for x in expected)


@pytest.mark.parametrize(
    ("zone", "now", "windows", "dates"),
    [
        (KIRITIMATI, "2026-11-25T10:20", ["this_hour"], [date(2026, 11, 26)]),
        (KIRITIMATI, "2026-11-25T10:20", ["this_hour", "last_hour"], [date(2026, 11, 25), date(2026, 11, 26)]),
        (PAGO_PAGO, "2026-11-25T13:05", ["last_hour"], [date(2026, 11, 25)]),
        (PAGO_PAGO, "2026-11-25T13:05", ["last_6h", "last_hour"], [date(2026, 11, 24), date(2026, 11, 25)]),
        (NEW_YORK, "2026-11-25T20:00", ["this_hour", "last_6h"], [date(2026, 11, 25)]),
    ],
)
def test_a_window_across_local_midnight_needs_two_days(zone, now, windows, dates):
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert hour_dates(windows, at, zone) == tuple(dates)


def test_hourly_windows_have_no_daily_dates():
    with pytest.raises(ValueError, match="hourly window"):
        window_dates("last_3h", date(2026, 11, 25))
    with pytest.raises(ValueError, match="not an hourly window"):
        window_hours("today", datetime(2026, 11, 25, tzinfo=UTC), UTC)


H1, H2, H3 = h("2026-11-25T12:00"), h("2026-11-25T13:00"), h("2026-11-25T14:00")
ROWS = {
    H1: {"spend": 10.0, "clicks": 10, "impressions": 1000, "conversion": 1},
    H2: {"spend": 30.0, "clicks": 20, "impressions": 1000, "conversion": 0},
}
# (metrics, hours, reported, rows, expected)
VALUES = [
    # counts and money summed; ratios from the sums: cpc 40/30, not the mean of 1.0 and 1.5
    (["spend", "clicks", "cpc", "ctr", "cpm"], [H1, H2], [H1, H2], ROWS,
     {"spend": 40.0, "clicks": 30, "cpc": 40 / 30, "ctr": 1.5, "cpm": 20.0}),
    (["cost_per_conversion", "conversion_rate"], [H1, H2], [H1, H2], ROWS,
     {"cost_per_conversion": 40.0, "conversion_rate": 100 / 30}),
    # an hour TikTok has not reported yet: missing, never zero
    (["spend", "cpc"], [H1, H2, H3], [H1, H2], ROWS, {"spend": None, "cpc": None}),
    (["spend"], [H3], [], ROWS, {"spend": None}),
    # a reported hour without a row for this entity: no delivery
    (["spend", "clicks"], [H1, H2, H3], [H1, H2, H3], ROWS, {"spend": 40.0, "clicks": 30}),
    (["spend", "cpc", "ctr"], [H3], [H3], ROWS, {"spend": 0, "cpc": None, "ctr": None}),
    # "-" from TikTok (no data) in one hour makes the sum missing
    (["spend", "clicks"], [H1, H2], [H1, H2], {H1: {"spend": None, "clicks": 1}, H2: {"spend": 2.0, "clicks": 1}},
     {"spend": None, "clicks": 2}),
    # a ratio without its denominator is missing
    (["cost_per_conversion"], [H2], [H1, H2], ROWS, {"cost_per_conversion": None}),
    (["reach"], [H1], [H1], ROWS, {"reach": None}),
]  # fmt: skip


@pytest.mark.parametrize(("metrics", "hours", "reported", "rows", "expected"), VALUES)
def test_window_values(metrics, hours, reported, rows, expected):
    assert window_values(metrics, hours, set(reported), rows) == pytest.approx(expected)


def test_a_ratio_is_fetched_as_its_parts():
    assert report_metrics(["cpc", "ctr", "spend", "reach"]) == ("clicks", "impressions", "spend")
    assert "frequency" in NOT_HOURLY


@pytest.mark.parametrize(("parts", "window"), [(["last_3h", "reach"], "today"), (["frequency"], "last_hour")])
def test_a_metric_that_does_not_add_up_over_hours_is_refused_in_an_hourly_window(parts, window):
    with pytest.raises(ValueError, match="not available in hourly windows"):
        resolve(parts, Level.CAMPAIGN, window)
    assert resolve(["last_3h", "cpc"], Level.CAMPAIGN, "today").window == "last_3h"
