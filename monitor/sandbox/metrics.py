"""Report metrics: what the sandbox computes, and TikTok's string format (tiktok-api.md §7.1).

The metric list is open, as in TikTok's SDK (``metrics: list[str]``): any lower-case name is accepted (see
:func:`is_metric_name`). Every value is a string: money "14.68" (two decimals in every currency), counts
"1079", ratios in percent "1.25" (ctr, conversion_rate, result_rate, …). A ratio whose denominator is zero
(cpc without clicks, cost_per_conversion without conversions, ctr and cpm without impressions) is "0.00", not
"-". Evidence (tiktok-api.md §7.1 says "verify"): the Singer tap ``tap-tiktok-ads`` 1.2.1, used against live
accounts for years, types cost_per_conversion, cpc, ctr, conversion_rate … as numbers in its schemas and converts
"-" to null only for ``secondary_goal_result``, ``cost_per_secondary_goal_result`` and
``secondary_goal_result_rate``, so TikTok must send numbers there (its sync stopped at the first "-" this sandbox
sent for cost_per_conversion); "-" is for metrics that do not apply (secondary goals, attributes). The monitor
reads a ratio over a zero count as no data either way (monitor/domain/ratios.py). Metrics the sandbox does **not
simulate** answer as TikTok answers an ad without such activity (:func:`unsimulated`): a zero ("0" for counts,
"0.00" for money, rates and averages), except secondary-goal metrics and attribute metrics the sandbox has no
value for, which answer "-".

How the simulated metrics relate: per ad, cumulative impressions = ⌊spend × 1000 / cpm⌋, clicks =
⌊impressions × ctr⌋ (before flooring), conversions = ⌊clicks × cvr⌋; a window's count is the difference of
the cumulative counts at its ends, so hours add up to days and counts never decrease. ``result``,
``real_time_conversion``, ``real_time_result`` and ``complete_payment`` equal ``conversion`` (the sandbox
has no reporting latency); ``reach`` = ⌊impressions / frequency⌋ with frequency growing with the window length
(1.08 for an hour, 1.12 for a day, 2.28 for 30 days).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CORE = (
    "spend",
    "impressions",
    "clicks",
    "ctr",
    "cpc",
    "cpm",
    "reach",
    "frequency",
    "cost_per_1000_reached",
    "gross_impressions",
)
CONVERSIONS = (
    "conversion",
    "cost_per_conversion",
    "conversion_rate",
    "conversion_rate_v2",
    "real_time_conversion",
    "real_time_cost_per_conversion",
    "real_time_conversion_rate",
    "result",
    "cost_per_result",
    "result_rate",
    "real_time_result",
    "real_time_cost_per_result",
    "real_time_result_rate",
    "secondary_goal_result",
    "cost_per_secondary_goal_result",
    "secondary_goal_result_rate",
    "complete_payment",
    "total_complete_payment_rate",
    "value_per_complete_payment",
    "total_purchase_value",
    "purchase",
    "cost_per_purchase",
    "app_install",
    "cost_per_app_install",
    "real_time_app_install",
    "registration",
    "sales_lead",
    "cash_spend",
    "voucher_spend",
)
ENGAGEMENT = (
    "video_play_actions",
    "video_watched_2s",
    "video_watched_6s",
    "video_views_p25",
    "video_views_p50",
    "video_views_p75",
    "video_views_p100",
    "average_video_play",
    "likes",
    "comments",
    "shares",
    "follows",
    "profile_visits",
)
ATTRIBUTES = (
    "campaign_name",
    "campaign_id",
    "adgroup_name",
    "adgroup_id",
    "ad_name",
    "ad_text",
    "campaign_budget",
    "budget",
    "opt_status",
    "bid",
    "bid_strategy",
    "billing_event",
    "placement_type",
    "objective_type",
    "campaign_automation_type",
    "currency",
)

KNOWN = frozenset(CORE + CONVERSIONS + ENGAGEMENT + ATTRIBUTES)
#: Attribute (non-numeric, not sortable) metrics the connectors request beyond :data:`ATTRIBUTES`.
EXTRA_ATTRIBUTES = frozenset(
    {
        "tt_app_id",
        "tt_app_name",
        "mobile_app_id",
        "promotion_type",
        "dpa_target_audience_type",
        "app_promotion_type",
        "smart_target",
        "call_to_action",
        "image_mode",
        "aeo_type",
        "split_test",
        "bid_type",
        "advertiser_name",
        "advertiser_id",
        "timezone",
    }
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_DECIMAL_HINTS = ("cost", "cpc", "cpm", "ctr", "cpa", "rate", "value", "average", "spend", "roas", "per_", "budget")
ATTRIBUTE_SET = frozenset(ATTRIBUTES) | EXTRA_ATTRIBUTES
DEFAULT_METRICS = ("spend", "impressions")
NONE = "-"


@dataclass(slots=True)
class Totals:
    """What one report row adds up. ``seconds`` is the window's length (for reach/frequency)."""

    seconds: float
    spend: float = 0.0
    impressions: int = 0
    clicks: int = 0
    conversion: int = 0
    value: float = 0.0

    @property
    def empty(self) -> bool:
        return self.impressions == 0 and round(self.spend, 2) == 0.0

    @property
    def reach(self) -> int:
        days = min(self.seconds / 86_400.0, 30.0)
        return math.floor(self.impressions / (1.08 + 0.04 * max(days, 0.0)))


def _ratio(num: float, den: float, scale: float = 1.0) -> float:
    return 0.0 if den == 0 else num * scale / den


def numbers(t: Totals) -> dict[str, float | None]:
    """Numeric values of every simulated metric (a ratio over a zero denominator is 0.0, as TikTok sends it)."""
    reach = t.reach
    conv = t.conversion
    out: dict[str, float | None] = {
        "spend": t.spend,
        "impressions": t.impressions,
        "gross_impressions": t.impressions,
        "clicks": t.clicks,
        "ctr": _ratio(t.clicks, t.impressions, 100),
        "cpc": _ratio(t.spend, t.clicks),
        "cpm": _ratio(t.spend, t.impressions, 1000),
        "reach": reach,
        "frequency": _ratio(t.impressions, reach),
        "cost_per_1000_reached": _ratio(t.spend, reach, 1000),
        "conversion": conv,
        "cost_per_conversion": _ratio(t.spend, conv),
        "conversion_rate": _ratio(conv, t.clicks, 100),
        "conversion_rate_v2": _ratio(conv, t.impressions, 100),
        "result": conv,
        "cost_per_result": _ratio(t.spend, conv),
        "result_rate": _ratio(conv, t.impressions, 100),
        "complete_payment": conv,
        "total_complete_payment_rate": _ratio(conv, t.clicks, 100),
        "value_per_complete_payment": _ratio(t.value, conv),
        "total_purchase_value": t.value,
    }
    for name in ("conversion", "cost_per_conversion", "conversion_rate", "result", "cost_per_result", "result_rate"):
        out["real_time_" + name] = out[name]
    return out


_COUNTS = frozenset(
    {
        "impressions",
        "gross_impressions",
        "clicks",
        "reach",
        "conversion",
        "result",
        "complete_payment",
        "real_time_conversion",
        "real_time_result",
    }
)


def text(name: str, value: float | None) -> str:
    """TikTok's string form of one metric value."""
    if value is None:
        return NONE
    if name in _COUNTS:
        return str(int(value))
    return f"{value:.2f}"


def format_metrics(names: list[str], t: Totals, attributes: dict[str, str]) -> dict[str, str]:
    """The ``metrics`` object of one report row, in request order."""
    nums = numbers(t)
    out: dict[str, str] = {}
    for name in names:
        if name in ATTRIBUTE_SET:
            out[name] = attributes.get(name, NONE)
        elif name in nums:
            out[name] = text(name, nums[name])
        else:
            out[name] = unsimulated(name)
    return out


def is_metric_name(name: str) -> bool:
    """Whether ``name`` can be a metric (the list is open: lower-case letters, digits and underscores)."""
    return bool(_NAME.match(name))


def unsimulated(name: str) -> str:
    """The value of a metric the sandbox does not simulate: "-" for secondary goals and attributes, else zero."""
    if name.startswith(("secondary_goal_", "cost_per_secondary_goal")) or name in ATTRIBUTE_SET:
        return NONE
    return "0.00" if any(hint in name for hint in _DECIMAL_HINTS) else "0"
