"""Values of an hourly window from TikTok's hourly rows: counts and money summed, ratios recomputed from the sums.

Over several hours a ratio is not the mean of the hours' ratios: ``last_3h.cpc`` is the three hours' spend over
their clicks. So a rule that reads a ratio in an hourly window makes the report ask for its parts too
(:func:`report_metrics`). Metrics that cannot be added up over hours (unique reach, frequency, averages) are not
available in hourly windows (:data:`NOT_HOURLY`; the rules refuse them).

Missing data is never zero: a window is missing when one of its hours has not been reported (TikTok's hourly
data lags about 30 minutes, sometimes more than two hours), and a ratio is missing when its denominator is zero
or missing. An hour counts as reported when the report has a row for it at that level; within a reported hour an
entity without a row had no delivery (zero).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from monitor.domain.values import MetricValue

#: Ratios: name -> (numerator, denominator, factor); TikTok's percentages (ctr, *_rate) have factor 100.
RATIOS: Mapping[str, tuple[str, str, float]] = {
    "ctr": ("clicks", "impressions", 100.0),
    "cpc": ("spend", "clicks", 1.0),
    "cpm": ("spend", "impressions", 1000.0),
    "cost_per_conversion": ("spend", "conversion", 1.0),
    "conversion_rate": ("conversion", "clicks", 100.0),
    "real_time_cost_per_conversion": ("spend", "real_time_conversion", 1.0),
    "real_time_conversion_rate": ("real_time_conversion", "clicks", 100.0),
    "cost_per_result": ("spend", "result", 1.0),
    "real_time_cost_per_result": ("spend", "real_time_result", 1.0),
    "cost_per_secondary_goal_result": ("spend", "secondary_goal_result", 1.0),
    "cost_per_purchase": ("spend", "purchase", 1.0),
    "cost_per_app_install": ("spend", "app_install", 1.0),
}
#: Metrics an hourly window cannot give: unique counts and averages do not add up over hours, and the rates
#: whose definition TikTok does not document well enough to recompute them.
NOT_HOURLY = frozenset(
    {
        "reach", "frequency", "cost_per_1000_reached", "average_video_play", "conversion_rate_v2", "result_rate",
        "real_time_result_rate", "secondary_goal_result_rate", "total_complete_payment_rate",
        "value_per_complete_payment",
    }
)  # fmt: skip
#: The ``stat_time_hour`` label format ("2026-11-25 14:00:00").
HOUR_FORMAT = "%Y-%m-%d %H:%M:%S"


def report_metrics(metrics: Iterable[str]) -> tuple[str, ...]:
    """What an hourly report asks for to give ``metrics``: the summed ones as they are, each ratio's parts."""
    out: dict[str, None] = {}
    for name in metrics:
        if name in RATIOS:
            numerator, denominator, _ = RATIOS[name]
            out[numerator] = out[denominator] = None
        elif name not in NOT_HOURLY:
            out[name] = None
    return tuple(sorted(out))


def parse_hour(label: object) -> datetime | None:
    """The naive local start of an hour from TikTok's ``stat_time_hour`` label; None when it is not one."""
    if not isinstance(label, str):
        return None
    try:
        return datetime.strptime(label.strip(), HOUR_FORMAT).replace(minute=0, second=0)
    except ValueError:
        return None


def window_values(
    metrics: Collection[str],
    hours: Collection[datetime],
    reported: Collection[datetime],
    rows: Mapping[datetime, Mapping[str, MetricValue]],
) -> dict[str, MetricValue]:
    """One entity's ``metrics`` over ``hours``: ``reported`` are the hours the report has (for any entity at the
    level), ``rows`` the entity's own rows by hour. Every value is None (missing) when an hour is not reported."""
    if not hours or any(hour not in reported for hour in hours):
        return dict.fromkeys(metrics)
    sums: dict[str, float | None] = {}

    def total(name: str) -> float | None:
        if name not in sums:
            values = [rows[hour].get(name) if hour in rows else 0 for hour in hours]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            sums[name] = sum(numbers) if len(numbers) == len(values) else None
        return sums[name]

    out: dict[str, MetricValue] = {}
    for name in metrics:
        if name in NOT_HOURLY:
            out[name] = None
        elif name in RATIOS:
            numerator, denominator, factor = RATIOS[name]
            top, bottom = total(numerator), total(denominator)
            out[name] = None if top is None or not bottom else top / bottom * factor
        else:
            out[name] = total(name)
    return out
