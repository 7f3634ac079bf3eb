"""Units and display of the values a rule matched: money in the advertiser's currency, percent, counts.

* Money (``spend``, ``cpc``, ``cpm``, ``cost_per_*``, ``budget``, ``projected_spend``, ...) is in the
  advertiser's currency: ``"612.40 USD"`` (no decimals for currencies that have none: ``"81,200 JPY"``).
* ``ctr`` and the ``*_rate`` metrics are already percent as TikTok sends them: 1.25 means 1.25 % -> ``"1.25 %"``.
* Everything else is a plain count or ratio: ``"1,079"``, ``"1.84"``. Text (statuses) is shown as is.
* A value the API did not return is ``None`` and shows as ``"no data"``, never as 0.
"""

from __future__ import annotations

import math

from monitor.domain import MetricValue
from monitor.domain.budget import WHOLE_CURRENCIES

NO_DATA = "no data"
PERCENT = "%"

_MONEY = frozenset(
    {
        "spend", "cpc", "cpm", "budget", "cash_spend", "voucher_spend", "total_purchase_value",
        "value_per_complete_payment", "cost_per_1000_reached", "projected_spend",
    }
)  # fmt: skip
_MONEY_PREFIXES = ("cost_per_", "real_time_cost_per_")
_PERCENT = frozenset({"ctr"})


def unit_for(name: str, currency: str | None) -> str | None:
    """The unit of a metric or field (``"yesterday.cpc"`` -> its base name ``cpc``): currency, ``"%"`` or None."""
    base = name.rsplit(".", 1)[-1]
    if base in _MONEY or base.startswith(_MONEY_PREFIXES):
        return currency
    if base in _PERCENT or base.endswith("_rate") or base.endswith("_rate_v2"):
        return PERCENT
    return None


def format_value(value: MetricValue, unit: str | None = None) -> str:
    """A value as people read it, with its unit; ``None`` is ``"no data"``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NO_DATA
    if isinstance(value, bool | str):
        return str(value)
    if unit == PERCENT:
        return f"{value:,.2f} %"
    if unit:  # a currency
        decimals = 0 if unit.upper() in WHOLE_CURRENCIES else 2
        return f"{value:,.{decimals}f} {unit}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"
