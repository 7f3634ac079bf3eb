"""Ratio metrics over a zero count are no data, whatever the API sends for them.

A cost-per-X or rate metric divides by a count: ``cpc`` by clicks, ``cpm`` and ``ctr`` by impressions,
``cost_per_conversion`` by conversions (:data:`DENOMINATORS`). When that count is zero the ratio is undefined,
and TikTok's answer for it is not certain (tiktok-api.md §7.1 and §12 say "verify"): the sandbox used to send
``"-"`` (which the client already reads as None), while the Singer tap ``tap-tiktok-ads`` 1.2.1, used against
live accounts for years, types ``cost_per_conversion``, ``cpc``, ``ctr`` … as numbers and converts ``"-"`` only
for the ``secondary_goal_*`` metrics, which says TikTok sends a number ("0.00") there. Either way the monitor
reads no data (None), never a real zero: "missing data is never zero", and a rule such as ``cpc < 0.10`` must not
fire on an ad that had no clicks at all.

So the client checks each report row (:func:`without_undefined_ratios`), and the reports the monitor asks for
include each ratio's denominator (:func:`with_denominators`), so the row always carries the count to check.
A denominator that is itself missing (None) also makes the ratio missing; a denominator the row does not carry
(a report that did not ask for it) leaves the ratio as sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from monitor.domain.values import MetricValue

#: Ratio metric -> the count it divides by (TikTok's definitions; the percentages ctr and *_rate included).
DENOMINATORS: Mapping[str, str] = MappingProxyType(
    {
        "ctr": "impressions",
        "cpc": "clicks",
        "cpm": "impressions",
        "frequency": "reach",
        "cost_per_1000_reached": "reach",
        "cost_per_conversion": "conversion",
        "conversion_rate": "clicks",
        "conversion_rate_v2": "impressions",
        "real_time_cost_per_conversion": "real_time_conversion",
        "real_time_conversion_rate": "clicks",
        "cost_per_result": "result",
        "result_rate": "impressions",
        "real_time_cost_per_result": "real_time_result",
        "real_time_result_rate": "impressions",
        "cost_per_secondary_goal_result": "secondary_goal_result",
        "secondary_goal_result_rate": "impressions",
        "total_complete_payment_rate": "clicks",
        "value_per_complete_payment": "complete_payment",
        "cost_per_purchase": "purchase",
        "cost_per_app_install": "app_install",
        "average_video_play": "video_play_actions",
    }
)


def with_denominators(metrics: Iterable[str]) -> tuple[str, ...]:
    """``metrics`` in their order, each ratio followed by its denominator when not already asked for."""
    out: dict[str, None] = {}
    for name in metrics:
        out[name] = None
        denominator = DENOMINATORS.get(name)
        if denominator is not None:
            out[denominator] = None
    return tuple(out)


def _zero_or_missing(value: MetricValue) -> bool:
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False  # a string where a count belongs: not ours to judge here
    return value == 0


def without_undefined_ratios(metrics: Mapping[str, MetricValue]) -> dict[str, MetricValue]:
    """One report row's metrics with every ratio whose denominator (in the same row) is zero or missing set to
    None; everything else as it was."""
    out = dict(metrics)
    clear_undefined_ratios(out, ratio_pairs(out))
    return out


def ratio_pairs(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The (ratio, denominator) pairs a row with the metrics ``names`` carries both of: what
    :func:`clear_undefined_ratios` checks. Worked out once per report, not per row."""
    present = set(names)
    return tuple((n, d) for n, d in DENOMINATORS.items() if n in present and d in present)


def clear_undefined_ratios(metrics: dict[str, MetricValue], pairs: Iterable[tuple[str, str]]) -> None:
    """In place: each ratio of ``pairs`` whose denominator is zero or missing becomes None."""
    for name, denominator in pairs:
        if _zero_or_missing(metrics[denominator]):
            metrics[name] = None
