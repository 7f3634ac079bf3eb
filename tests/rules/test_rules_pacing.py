"""day_elapsed, projected_spend and pace: the advertiser's local day, projection over the hourly profile or
linear, no data too early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rules_factories import decide, entity, rule, snapshot

from monitor.domain import EntityState, Level
from monitor.domain.baseline import keep_days
from monitor.domain.budget import DAY, DYNAMIC_DAY, INFINITE, TOTAL
from monitor.domain.profile import PROFILE_DAYS, PROFILE_WEEKS
from monitor.rules import ExprError, compile_when, evaluate
from monitor.rules.model import RuleSet
from monitor.rules.pacing import MIN_HOURS, local_day

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11
#: 10:00 UTC on Tuesday 24 November 2026: local midnight starting Wednesday in Kiritimati, 23:00 Monday in Pago Pago.
AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def utc(hour: int, minute: int = 0, day: int = 24, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "zone", "hour", "weekday", "elapsed", "base"),
    [
        (AT, KIRITIMATI, 0, "wed", 0.0, None),  # local midnight: nothing gone, nothing to project from
        (AT, PAGO_PAGO, 23, "mon", 23 / 24, 23 / 24),
        (AT, "UTC", 10, "tue", 10 / 24, 10 / 24),
        (utc(11, 59), KIRITIMATI, 1, "wed", (1 + 59 / 60) / 24, None),  # 1 h 59 min: too early
        (utc(12, 0), KIRITIMATI, 2, "wed", 2 / 24, 2 / 24),  # exactly MIN_HOURS: projected
        (utc(11, 0, day=25), PAGO_PAGO, 0, "wed", 0.0, None),  # 00:00 in Pago Pago is 11:00 UTC
        (utc(23, 0), PAGO_PAGO, 12, "tue", 0.5, 0.5),
        # 1 November 2026, New York falls back: a 25-hour day; noon EST is 13 real hours after midnight EDT
        (utc(17, 0, day=1), "America/New_York", 12, "sun", 13 / 25, 13 / 25),
        # 8 March 2026, New York springs forward: a 23-hour day; 03:00 EDT is 2 real hours after midnight EST
        (utc(7, 0, day=8, month=3), "America/New_York", 3, "sun", 2 / 23, 2 / 23),
    ],
)
def test_the_local_day(at, zone, hour, weekday, elapsed, base):
    day = local_day(at, zone)
    assert (day.hour, day.weekday) == (hour, weekday)
    assert day.elapsed == pytest.approx(elapsed)
    assert day.base == (None if base is None else pytest.approx(base))


def test_too_early_is_two_hours():
    assert MIN_HOURS == 2.0


CAMPAIGN = entity("campaign", "1", today={"spend": 300.0}, budget=1000.0, budget_mode=DAY)


def profiled(share: float | None) -> EntityState:
    """CAMPAIGN with its hourly profile's share (None: too little history for one)."""
    return entity("campaign", "1", today={"spend": 300.0}, budget=1000.0, budget_mode=DAY, profile_14d={"spend": share})


NOON_UTC = utc(12)


@pytest.mark.parametrize(
    ("when", "cur", "at", "zone", "expected"),
    [
        # day_elapsed: always known, in the advertiser's zone
        ("day_elapsed == 0.5", CAMPAIGN, NOON_UTC, "UTC", True),
        ("day_elapsed < 0.01", CAMPAIGN, AT, KIRITIMATI, True),
        ("day_elapsed > 0.95", CAMPAIGN, AT, PAGO_PAGO, True),
        ("day_elapsed > 0.5 and has(spend)", entity("ad", "1"), NOON_UTC, PAGO_PAGO, False),
        # projected_spend: today's spend over the share of the day gone; 300 at noon -> 600
        ("projected_spend == 600", CAMPAIGN, NOON_UTC, "UTC", True),
        ("projected_spend > 0", entity("ad", "1", today={"spend": 3.0}), NOON_UTC, "UTC", True),  # every level
        ("projected_spend > 0", entity("campaign", "1"), NOON_UTC, "UTC", None),  # no spend: no data, not zero
        ("projected_spend >= 0", CAMPAIGN, utc(11, 30), KIRITIMATI, None),  # 01:30 local: too early
        ("projected_spend == 3600", CAMPAIGN, utc(12), KIRITIMATI, True),  # 02:00 local: 300 / (2/24)
        ("projected_spend > 0", entity("campaign", "1", today={"spend": 0}), NOON_UTC, "UTC", False),  # 0 is 0
        # with the entity's hourly profile (the share of a day's spend it usually has done by now): over that
        ("projected_spend == 1200", profiled(0.25), NOON_UTC, "UTC", True),  # 300 / 0.25, not 300 / 0.5
        ("projected_spend == 600", profiled(None), NOON_UTC, "UTC", True),  # too little history: linear
        ("projected_spend >= 0", profiled(0.04), NOON_UTC, "UTC", None),  # < MIN_SHARE usually done: no data
        ("projected_spend == 6000", profiled(0.05), NOON_UTC, "UTC", True),  # MIN_SHARE itself is enough
        ("projected_spend >= 0", profiled(0.5), utc(11, 30), KIRITIMATI, None),  # 01:30 local: still too early
        ("projected_spend == 750", profiled(0.4), utc(12), KIRITIMATI, True),  # 02:00 local: 300 / 0.4
        ("projected_spend == 3000", profiled(0.1), utc(23), PAGO_PAGO, True),  # 12:00 local in UTC-11
        # pace: (spend / daily budget) / day_elapsed; 300 of 1000 at noon -> 0.6
        ("pace == 0.6", CAMPAIGN, NOON_UTC, "UTC", True),
        ("pace > 0.5", entity("campaign", "1", today={"spend": 300.0}, budget=1000.0, budget_mode=DYNAMIC_DAY),
         NOON_UTC, "UTC", True),
        ("pace > 0", entity("campaign", "1", today={"spend": 300.0}, budget=1000.0, budget_mode=TOTAL),
         NOON_UTC, "UTC", None),  # a lifetime budget is not paced by the day
        ("pace > 0", entity("campaign", "1", today={"spend": 300.0}, budget=None, budget_mode=INFINITE),
         NOON_UTC, "UTC", None),
        ("pace > 0", entity("campaign", "1", budget=1000.0, budget_mode=DAY), NOON_UTC, "UTC", None),
        ("pace > 0", CAMPAIGN, utc(1), "UTC", None),  # 01:00: too early
        ("pace < 0.5 or pace >= 0.5", CAMPAIGN, utc(1), "UTC", None),  # still undecided, never a guess
        ("pace > 1.2", CAMPAIGN, utc(23), PAGO_PAGO, False),  # 12:00 in Pago Pago: 0.6
        ("pace > 1.5 and spend > 100", CAMPAIGN, utc(13), KIRITIMATI, True),  # 03:00 local: 0.3 / (3/24) = 2.4
    ],
)  # fmt: skip
def test_pacing_names(when, cur, at, zone, expected):
    assert decide(when, cur, at=at, zone=zone) is expected


def test_a_window_across_local_midnight_starts_the_day_again():
    """Two polls around local midnight in Kiritimati (UTC+14): before it, the day is nearly gone and the
    projection is the day's spend; after it, today is a new day: too early to project, no data."""
    pacing = rule("pace > 0.9 and projected_spend > 500")
    late = entity("campaign", "1", today={"spend": 950.0}, budget=1000.0, budget_mode=DAY)
    before = evaluate([pacing], snapshot(late, at=utc(9, 30)), None, utc(9, 30), zone=KIRITIMATI)
    assert [f.values for f in before.findings] == [
        {"pace": pytest.approx(0.95 / (23.5 / 24)), "projected_spend": pytest.approx(950 / (23.5 / 24))}
    ]
    fresh = entity("campaign", "1", today={"spend": 12.0}, budget=1000.0, budget_mode=DAY)
    after = evaluate([pacing], snapshot(fresh, at=utc(10, 30)), snapshot(late), utc(10, 30), zone=KIRITIMATI)
    assert after.findings == () and after.is_undecided("r", "1")
    day = local_day(utc(10, 30), KIRITIMATI)
    assert (day.weekday, day.elapsed) == ("wed", pytest.approx(0.5 / 24))


def test_the_same_instant_is_another_day_in_each_zone():
    spend = entity("campaign", "1", today={"spend": 100.0}, budget=1000.0, budget_mode=DAY)
    at = utc(22)  # 12:00 Wednesday in Kiritimati, 11:00 Tuesday in Pago Pago
    east = evaluate([rule("projected_spend > 0")], snapshot(spend, at=at), None, at, zone=KIRITIMATI).findings
    west = evaluate([rule("projected_spend > 0")], snapshot(spend, at=at), None, at, zone=PAGO_PAGO).findings
    assert east[0].values["projected_spend"] == pytest.approx(200.0)
    assert west[0].values["projected_spend"] == pytest.approx(100 / (11 / 24))


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("prev.pace > 1", "pace has no previous value"),
        ("prev.projected_spend > 1", "projected_spend has no previous value"),
        ("prev.day_elapsed > 0.5", "day_elapsed has no previous value"),
        ("day_elapsed > 12", "day_elapsed is a fraction of the day from 0 to 1"),
        ("yesterday.pace > 1", "pace is not a report metric"),
        ("pace == 'fast'", "cannot compare"),
        ("delta(projected_spend) > 5", "delta() compares with the previous poll: projected_spend has no previous"),
        ("changed(pace)", "changed() compares with the previous poll: pace has no previous value (column 9)"),
    ],
)
def test_mistakes_with_the_pacing_names(when, message):
    with pytest.raises(ExprError) as caught:
        compile_when(when, level=Level.CAMPAIGN, window="today")
    assert message in str(caught.value)


def test_pace_is_for_budgeted_levels_only():
    with pytest.raises(ExprError) as caught:
        compile_when("pace > 1", level=Level.AD, window="today")
    assert "pace is not available in ad rules" in str(caught.value)
    compile_when("projected_spend > 1", level=Level.AD, window="today")


def test_pacing_reads_todays_spend():
    assert compile_when("pace > 1.2", level=Level.CAMPAIGN, window="yesterday").metrics() == {("today", "spend")}
    assert compile_when("projected_spend > 5", level=Level.AD, window="today").metrics() == {
        ("today", "spend"),
        ("profile_14d", "spend"),  # the ad's own hourly profile, from stored hourly history
    }
    assert compile_when("day_elapsed > 0.5", level=Level.AD, window="today").metrics() == set()


def test_at_most_one_day_elapsed():
    for minutes in range(0, 24 * 60, 7):
        day = local_day(utc(0) + timedelta(minutes=minutes), PAGO_PAGO)
        assert 0 <= day.elapsed < 1


def test_the_prune_job_keeps_the_days_a_profile_reads():
    assert RuleSet([rule("projected_spend > 5")]).baseline_weeks() == PROFILE_WEEKS == 3
    assert (
        RuleSet([rule("projected_spend > 5"), rule("spend > baseline(spend, weeks=6)", name="b")]).baseline_weeks() == 6
    )
    assert RuleSet([rule("pace > 1")]).baseline_weeks() == 0  # linear only: no history
    assert keep_days(PROFILE_WEEKS) > PROFILE_DAYS + 1  # yesterday unsettled: the window reaches 15 days back
