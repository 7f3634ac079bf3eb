"""baseline(metric, weeks) and stddev(): table tests of the semantics (monitor.domain.baseline), pure: which past
days are samples, up to which local time, ratios, missing data never zero, and time zones at UTC+14 and UTC-11
(a baseline just after local midnight reads the new day's weekday, none of the day before)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.domain.baseline import (
    baseline_at,
    baseline_values,
    day_value,
    delivered_by,
    keep_days,
    mean_and_stddev,
    needed_days,
    parse_window,
    sample_days,
)

TUESDAY = date(2026, 11, 24)
PAST = sample_days(TUESDAY, 4)  # the four previous Tuesdays, newest first
FLAT = {hour: {"spend": 10.0, "clicks": 5, "impressions": 1000} for hour in range(24)}


def test_the_samples_are_the_same_weekday_of_past_weeks() -> None:
    assert sample_days(TUESDAY, 4) == (date(2026, 11, 17), date(2026, 11, 10), date(2026, 11, 3), date(2026, 10, 27))
    assert all(day.weekday() == TUESDAY.weekday() for day in PAST)
    assert needed_days(["baseline_3w", "stddev_2w", "today"], TUESDAY) == PAST[:3]
    assert needed_days(["today"], TUESDAY) == ()
    assert parse_window("baseline_4w") == ("baseline", 4) and parse_window("last_7d") is None
    assert keep_days(4) == 35 and keep_days(0) == 7


@pytest.mark.parametrize(
    ("metric", "until", "expected"),
    [
        ("spend", 15.0, 150.0),  # 00:00 .. 14:00 whole
        ("spend", 14.5, 145.0),  # and half of the 14:00 hour
        ("spend", 0.25, 2.5),  # a quarter of the first hour
        ("spend", 0.0, 0.0),  # at midnight: nothing yet
        ("clicks", 24.0, 120.0),
        ("cpc", 15.0, 2.0),  # a ratio of the sums, not a mean of hourly ratios
        ("ctr", 15.0, 0.5),  # percent
        ("reach", 15.0, None),  # does not add up over hours
    ],
)
def test_a_days_value_up_to_a_local_time(metric: str, until: float, expected: float | None) -> None:
    assert day_value(metric, FLAT, until) == expected


def test_missing_is_never_zero_in_a_day() -> None:
    assert day_value("spend", {3: {"spend": 1.0}, 4: {"spend": None}}, 10) is None  # a missing hour's value
    assert day_value("cpc", {3: {"spend": 1.0, "clicks": 0}}, 10) is None  # over zero clicks
    assert day_value("spend", {20: {"spend": 5.0}}, 10) == 0.0  # the day's own sum by 10:00 ...
    assert not delivered_by({20: {"spend": 5.0}}, 10)  # ... but no delivery by then: not a sample (below)
    assert delivered_by({9: {"spend": 0.0}}, 10) and delivered_by({9: {"spend": 5.0}}, 9.5)
    assert not delivered_by({10: {"spend": 5.0}}, 10)  # the 10:00 hour has not begun at 10:00
    assert day_value("cpc", {20: {"spend": 5.0, "clicks": 1}}, 10) is None  # no clicks by then: no ratio


def values(days, stored, until=15.0, metrics=("spend",), weeks=4):
    wanted = {f"baseline_{weeks}w": metrics, f"stddev_{weeks}w": metrics}
    return baseline_values(wanted, days, stored, TUESDAY, until)


@pytest.mark.parametrize(
    ("spends", "stored", "mean", "stddev"),
    [
        ([100, 200, 300, 400], PAST, 250.0, math.sqrt(50000 / 3)),  # four weeks
        ([100, 200, None, None], PAST[:2], 150.0, math.sqrt(5000)),  # two stored: enough
        ([100, None, None, None], PAST[:1], None, None),  # one: no data (not the one value, not zero)
        ([100, 200, 300, 400], PAST[:1], None, None),  # rows of days not stored (a failed report) do not count
        ([100, None, 300, None], PAST, 200.0, math.sqrt(20000)),  # stored days without a row: not samples
        ([None, None, None, None], PAST, None, None),  # never delivered: no data
        # delivered only later on each (from 20:00: paused until then, created then): no sample, not a zero
        ([0, 0, 0, 0], PAST, None, None),
        ([100, 0, 300, 0], PAST, 200.0, math.sqrt(20000)),  # the two later-only days left out, not zeros
    ],
)
def test_baseline_and_stddev_of_the_samples(spends, stored, mean, stddev) -> None:
    days = {
        day: {hour: {"spend": spend / 15} for hour in range(24)} if spend else {20: {"spend": 1.0}}
        for day, spend in zip(PAST, spends, strict=True)
        if spend is not None
    }
    got = values(days, set(stored))
    assert got["baseline_4w"]["spend"] == (None if mean is None else pytest.approx(mean))
    assert got["stddev_4w"]["spend"] == (None if stddev is None else pytest.approx(stddev))


def test_weeks_limits_the_samples() -> None:
    days = {day: {0: {"spend": float(n)}} for n, day in enumerate(PAST, start=1)}
    assert values(days, set(PAST), until=1.0, weeks=2)["baseline_2w"]["spend"] == 1.5  # the two newest only
    assert values(days, set(PAST), until=1.0, weeks=4)["baseline_4w"]["spend"] == 2.5


def test_a_ratios_baseline_is_the_mean_of_each_days_ratio() -> None:
    days = {PAST[0]: {1: {"spend": 10.0, "clicks": 10}}, PAST[1]: {1: {"spend": 30.0, "clicks": 10}}}
    assert values(days, set(PAST), until=2.0, metrics=("cpc",))["baseline_4w"]["cpc"] == 2.0
    days[PAST[2]] = {1: {"spend": 5.0, "clicks": 0}}  # no clicks: no cpc that day, not a zero
    assert values(days, set(PAST), until=2.0, metrics=("cpc",))["baseline_4w"]["cpc"] == 2.0


def test_mean_and_stddev_need_two_samples() -> None:
    assert mean_and_stddev([]) == (None, None) and mean_and_stddev([5.0]) == (None, None)
    assert mean_and_stddev([1.0, 3.0]) == (2.0, math.sqrt(2))


@pytest.mark.parametrize(
    ("zone", "now", "today", "until"),
    [
        # UTC+14: 10:30 UTC on Tuesday the 24th is already 00:30 on Wednesday the 25th
        ("Pacific/Kiritimati", datetime(2026, 11, 24, 10, 30, tzinfo=UTC), date(2026, 11, 25), 0.5),
        # UTC-11: the same instant is still 23:30 on Monday the 23rd
        ("Pacific/Pago_Pago", datetime(2026, 11, 24, 10, 30, tzinfo=UTC), date(2026, 11, 23), 23.5),
        ("Pacific/Pago_Pago", datetime(2026, 11, 24, 11, 0, tzinfo=UTC), date(2026, 11, 24), 0.0),
        # New York's DST end (1 Nov 2026): 09:00 UTC is 04:00 EST, the local clock (labels), not hours elapsed
        ("America/New_York", datetime(2026, 11, 1, 9, 0, tzinfo=UTC), date(2026, 11, 1), 4.0),
    ],
)
def test_the_local_date_and_time_a_baseline_reads(zone: str, now: datetime, today: date, until: float) -> None:
    assert baseline_at(now, ZoneInfo(zone)) == (today, until)


def test_just_after_local_midnight_the_baseline_reads_the_new_days_weekday_only() -> None:
    # 00:30 Wednesday in Kiritimati: the samples are past Wednesdays up to 00:30; Tuesdays' evenings do not count
    today, until = baseline_at(datetime(2026, 11, 24, 10, 30, tzinfo=UTC), ZoneInfo("Pacific/Kiritimati"))
    wednesdays = sample_days(today, 2)
    assert [day.weekday() for day in wednesdays] == [2, 2]
    days = {day: {0: {"spend": 4.0}, 23: {"spend": 100.0}} for day in wednesdays}
    days |= {day - timedelta(days=1): {23: {"spend": 100.0}} for day in wednesdays}  # the Tuesdays before
    got = baseline_values({"baseline_2w": ("spend",)}, days, set(days), today, until)
    assert got == {"baseline_2w": {"spend": 2.0}}  # half of hour 0 on each Wednesday
    # 23:30 Monday in Pago Pago: past Mondays up to 23:30, the 23:00 hour half
    today, until = baseline_at(datetime(2026, 11, 24, 10, 30, tzinfo=UTC), ZoneInfo("Pacific/Pago_Pago"))
    mondays = sample_days(today, 2)
    days = {day: {0: {"spend": 4.0}, 23: {"spend": 100.0}} for day in mondays}
    assert baseline_values({"baseline_2w": ("spend",)}, days, set(days), today, until) == {
        "baseline_2w": {"spend": 54.0}
    }
