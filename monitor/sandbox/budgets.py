"""Currency rules and the budget-edit checks TikTok applies (tiktok-api.md §6). Pure functions.

* minimum daily budget: campaign 50, ad group 20 (USD-equivalent) × the currency's verification ratio;
  lifetime minimum: campaign 50 × ratio (assumption: the doc gives no campaign lifetime minimum), ad group
  20 × ratio × scheduled days; maximum below 10 000 000 × ratio;
* integer-only currencies (JPY) refuse fractional budgets;
* a new budget must be at least 105 % of what is already spent (today for daily budgets, since creation for
  lifetime budgets);
* no edits in the lock window 23:55–00:00 of the account's local day.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.sandbox.entities import DAY, INFINITE, TOTAL

CAMPAIGN_MIN = 50
ADGROUP_MIN = 20
MAX_BUDGET = 10_000_000
SPENT_FACTOR = 1.05


@dataclass(frozen=True, slots=True)
class Currency:
    """``ratio`` is TikTok's budget verification ratio; ``per_usd`` only scales the simulated spend rates."""

    code: str
    ratio: int
    decimals: int
    per_usd: float

    def money(self, value: float) -> str:
        return f"{value:.{self.decimals}f} {self.code}"


#: NZD's ratio is not in the doc's excerpt; 1 is assumed (like USD/EUR/GBP).
CURRENCIES = {
    "USD": Currency("USD", 1, 2, 1.0),
    "NZD": Currency("NZD", 1, 2, 1.7),
    "JPY": Currency("JPY", 100, 0, 150.0),
}


def minimum_budget(kind: str, mode: str, currency: Currency, scheduled_days: int = 1) -> float:
    base = CAMPAIGN_MIN if kind == "campaign" else ADGROUP_MIN
    days = scheduled_days if (kind == "adgroup" and mode == TOTAL) else 1
    return float(base * currency.ratio * max(1, days))


def check_budget(
    *,
    kind: str,
    mode: str,
    value: float,
    currency: Currency,
    spent: float,
    locked: bool,
    zone_name: str,
    scheduled_days: int = 1,
) -> str | None:
    """Why ``value`` is not an acceptable new budget, or None. ``spent`` is today's spend for daily budgets and
    lifetime spend for lifetime budgets; ``locked`` is whether the account's local time is 23:55–00:00."""
    if mode == INFINITE:
        return f"budget: A budget cannot be set for a {kind} in BUDGET_MODE_INFINITE."
    if locked:
        return (
            "budget: Budgets cannot be changed between 23:55 and 00:00 in the ad account's time zone "
            f"({zone_name}). Try again after midnight."
        )
    if currency.decimals == 0 and value != int(value):
        return f"budget: {currency.code} budgets must be whole numbers."
    what = "daily" if mode == DAY else "lifetime"
    low = minimum_budget(kind, mode, currency, scheduled_days)
    if value < low:
        article = "a" if kind == "campaign" else "an"
        return f"budget: The {what} budget of {article} {kind} must be at least {currency.money(low)}."
    high = MAX_BUDGET * currency.ratio
    if value >= high:
        return f"budget: The budget must be less than {currency.money(high)}."
    needed = spent * SPENT_FACTOR
    if value < needed - 1e-9:
        period = "today" if mode == DAY else "since the start of delivery"
        return (
            f"budget: The new budget ({currency.money(value)}) must be at least 105% of the amount already "
            f"spent {period} ({currency.money(spent)}), i.e. at least {currency.money(needed)}."
        )
    return None
