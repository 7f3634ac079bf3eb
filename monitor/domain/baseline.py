"""Baselines: what a metric usually is by this local hour on this weekday. Pure.

``baseline(spend, weeks=4)`` at 14:20 on a Tuesday (the advertiser's local time) is the mean, over the 4
previous Tuesdays, of each day's spend from local 00:00 up to 14:20: the hours labelled ``00:00`` .. ``13:00`` in
TikTok's ``stat_time_hour`` rows whole, and a third of hour ``14:00`` (the part of the current hour gone, as the
hour's rate is all a report says within it). Counting the current hour whole would put the baseline up to an hour
ahead of today's value early in each hour. ``stddev(spend, weeks=4)`` is the sample standard deviation of the
same values (for z-scores).

Each past day is one **sample** of an entity when:

* the day's hourly report is stored (:mod:`monitor.store.hourly` keeps them; a day not fetched yet, or whose
  report failed, is no sample: never zero);
* the entity has a row for some hour of that day that began before this local time (:func:`delivered_by`): a
  day it did not deliver by then, paused or not created yet until later, is no sample, so a new campaign or one
  paused until the evening is not compared with zeros;
* the value is defined (a ratio whose denominator is zero through that hour is no sample).

Sums for counts and money, ratios recomputed from the day's sums (``baseline(cpc)`` is the mean of each day's
spend over clicks through the hour); metrics that do not add up over hours (:data:`~monitor.domain.hourly.NOT_HOURLY`)
have no baseline. With fewer than :data:`MIN_SAMPLES` samples both values are missing (no data): a baseline
needs at least two of its weeks. ``weeks`` is :data:`MIN_WEEKS` to :data:`MAX_WEEKS` (default 4).

In rules the values are read as pseudo windows of the entity's metrics: ``baseline_4w`` and ``stddev_4w``
(:func:`baseline_window`), filled by :mod:`monitor.fetch_baseline` and stored with the snapshot like any window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta, tzinfo

from monitor.domain.hourly import NOT_HOURLY, RATIOS, report_metrics
from monitor.domain.values import MetricValue

DEFAULT_WEEKS = 4
MIN_WEEKS, MAX_WEEKS = 2, 12
#: Samples (past same weekdays with data) needed before a baseline has a value.
MIN_SAMPLES = 2
#: The two functions of the ``when`` language that read baselines.
KINDS = ("baseline", "stddev")
#: Days of stored hourly history kept beyond the longest ``weeks`` a rule reads (see :func:`keep_days`).
MARGIN_DAYS = 7
_WINDOW = re.compile(r"(baseline|stddev)_(\d+)w")

#: One day of one entity: local hour (0-23) -> metric -> value.
DayRows = Mapping[int, Mapping[str, MetricValue]]


def no_data_reason(weeks: int) -> str:
    """Why a baseline over ``weeks`` can be no data (what ``explain`` adds to "no data for baseline(spend)")."""
    return (
        f"a baseline needs the same weekday of at least {MIN_SAMPLES} of the last {weeks} weeks with delivery by "
        f"this time, from hourly history the monitor stores at most a few past days per poll"
    )


def baseline_window(kind: str, weeks: int) -> str:
    """The pseudo window holding ``kind`` ("baseline" or "stddev") over ``weeks``: "baseline_4w"."""
    if kind not in KINDS:
        raise ValueError(f"unknown baseline kind {kind!r}")
    return f"{kind}_{weeks}w"


def every_weeks(kind: str) -> tuple[str, ...]:
    """The pseudo windows of ``kind`` for every ``weeks`` a rule may give."""
    return tuple(baseline_window(kind, weeks) for weeks in range(MIN_WEEKS, MAX_WEEKS + 1))


def parse_window(window: str) -> tuple[str, int] | None:
    """(kind, weeks) of a pseudo window made by :func:`baseline_window`; None for any other window."""
    match = _WINDOW.fullmatch(window)
    return None if match is None else (match.group(1), int(match.group(2)))


def sample_days(today: date, weeks: int) -> tuple[date, ...]:
    """The local dates a baseline on ``today`` reads: the same weekday 1 .. ``weeks`` weeks back, newest first."""
    return tuple(today - timedelta(days=7 * back) for back in range(1, weeks + 1))


def keep_days(weeks: int) -> int:
    """How many days of hourly history to keep when the longest baseline a rule reads is ``weeks``."""
    return 7 * weeks + MARGIN_DAYS if weeks > 0 else MARGIN_DAYS


def local_time(hour: int, minute: int = 0, second: float = 0.0) -> float:
    """A local time of day in hours (14:20 -> 14.333...): how far into the day a baseline reads."""
    return hour + minute / 60 + second / 3600


def baseline_at(now: datetime, zone: tzinfo) -> tuple[date, float]:
    """The advertiser's local date at ``now`` (aware) and the local time of day (:func:`local_time`) a baseline
    reads up to: the local clock's reading, so on a day that changes to or from daylight saving time the hours
    are those labelled so (as TikTok labels ``stat_time_hour``)."""
    local = now.astimezone(zone)
    return local.date(), local_time(local.hour, local.minute, local.second + local.microsecond / 1e6)


def delivered_by(rows: DayRows, until: float) -> bool:
    """Whether one day's ``rows`` hold an hour that began before the local time ``until`` (hours): the entity had
    delivery by then, so the day is a sample of a baseline at ``until`` (a row at 20:00 is none at 15:00)."""
    return any(hour < until for hour in rows)


def day_sums(rows: DayRows, names: Collection[str], until: float) -> dict[str, float | None]:
    """The sums of ``names`` over one day's ``rows`` from 00:00 up to the local time ``until`` (hours,
    :func:`local_time`): the hours before it whole, the one it falls in pro rata, in hour order. A sum is None
    when one of its hours holds no number for it."""
    sums: dict[str, float | None] = dict.fromkeys(names, 0.0)
    for hour in sorted(rows):
        if hour >= until:
            break
        weight, row = min(1.0, until - hour), rows[hour]
        for name, total in sums.items():
            value = row.get(name)
            if total is None or not isinstance(value, int | float) or isinstance(value, bool):
                sums[name] = None
            else:
                sums[name] = total + value * weight
    return sums


def from_sums(metric: str, sums: Mapping[str, float | None]) -> MetricValue:
    """``metric`` from a day's sums (:func:`day_sums` of :func:`~monitor.domain.hourly.report_metrics`): the sum
    itself, or a ratio of sums (None over a zero or missing denominator); None for what does not add up."""
    if metric in NOT_HOURLY:
        return None
    if metric in RATIOS:
        numerator, denominator, factor = RATIOS[metric]
        top, bottom = sums.get(numerator), sums.get(denominator)
        return None if top is None or not bottom else top / bottom * factor
    return sums.get(metric)


def day_value(metric: str, rows: DayRows, until: float) -> MetricValue:
    """``metric`` of one day's ``rows`` up to the local time ``until``: a sum, or a ratio of sums (see
    :func:`day_sums` and :func:`from_sums`)."""
    return from_sums(metric, day_sums(rows, report_metrics([metric]), until))


def mean_and_stddev(values: Collection[float]) -> tuple[float | None, float | None]:
    """The mean and sample standard deviation of ``values``; (None, None) with fewer than :data:`MIN_SAMPLES`."""
    if len(values) < MIN_SAMPLES:
        return None, None
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def baseline_values(
    wanted: Mapping[str, Collection[str]],
    days: Mapping[date, DayRows | None],
    stored: Collection[date],
    today: date,
    until: float,
) -> dict[str, dict[str, MetricValue]]:
    """One entity's pseudo windows: ``wanted`` maps each baseline window ("baseline_4w", "stddev_4w") to its
    metrics; ``days`` are the entity's stored rows by local date (a stored date missing: no row that day),
    ``stored`` the dates whose reports are kept, ``today`` and ``until`` the advertiser's local date and time of
    day (:func:`local_time`) now. Each sample day is summed once, whatever the windows and metrics."""
    parsed = {window: found for window in wanted if (found := parse_window(window)) is not None}
    names = report_metrics(m for window in parsed for m in wanted[window])
    dates = sample_days(today, max((weeks for _, weeks in parsed.values()), default=0))
    sums = {
        day: day_sums(rows, names, until)
        for day in dates
        if day in stored and (rows := days.get(day)) and delivered_by(rows, until)
    }
    stats: dict[tuple[int, str], tuple[float | None, float | None]] = {}
    out: dict[str, dict[str, MetricValue]] = {}
    for window, (kind, weeks) in parsed.items():
        values: dict[str, MetricValue] = {}
        for metric in wanted[window]:
            if (weeks, metric) not in stats:
                read = (from_sums(metric, sums[day]) for day in dates[:weeks] if day in sums)
                stats[(weeks, metric)] = mean_and_stddev([float(v) for v in read if isinstance(v, int | float)])
            values[metric] = stats[(weeks, metric)][0 if kind == "baseline" else 1]
        out[window] = values
    return out


def needed_days(windows: Collection[str], today: date) -> tuple[date, ...]:
    """Every local date the baseline ``windows`` read on ``today``, newest first."""
    weeks = max((parsed[1] for w in windows if (parsed := parse_window(w)) is not None), default=0)
    return sample_days(today, weeks)
