"""TikTok's budget rules, as pure functions of ``now``, the account's time zone and currency (tiktok-api.md §6).

* Minimum daily budget: campaign 50, ad group 20, times the currency's "budget verification ratio"; budgets must
  stay below 10,000,000 times the ratio. Only the ratios the documentation states are known here (USD, EUR, GBP,
  JPY, KRW, IDR); ``[actions] min_budget`` sets (or overrides) a currency's minimums. In any other currency the
  minimum and maximum are unknown: the monitor sends the change and TikTok's answer decides (a refusal is
  journaled as a failed write with TikTok's message).
* Integer-only currencies (JPY, KRW, IDR, HUF) take whole amounts.
* A new budget must be at least 105 % of what is already spent: today's spend for daily budgets, lifetime spend
  for lifetime budgets (read from the poll's report; no data means no change).
* No budget edits from 23:55 to midnight, account time.
* Daily ad-group budgets are sent as ``scheduled_budget`` and take effect at the next local midnight.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta, tzinfo

from monitor.domain import Level
from monitor.domain.budget import DAILY_MODES, WHOLE_CURRENCIES
from monitor.notify.units import format_value

#: TikTok's budget verification ratio per currency, as far as the documentation states it.
RATIOS = {"USD": 1, "EUR": 1, "GBP": 1, "JPY": 100, "KRW": 1000, "IDR": 10000}
MINIMUM = {Level.CAMPAIGN: 50, Level.ADGROUP: 20}
#: Configured minimum daily budgets (``[actions] min_budget``): currency -> (campaign, ad group).
Minimums = Mapping[str, tuple[float, float]]
NO_MINIMUMS: Minimums = {}
MAXIMUM = 10_000_000
SPENT_FACTOR = 1.05
LOCK_FROM = time(23, 55)


def money(value: float | None, currency: str | None) -> str:
    return format_value(value, currency or "")


def decimals(currency: str | None) -> int:
    return 0 if (currency or "").upper() in WHOLE_CURRENCIES else 2


def round_money(value: float, currency: str | None, how: str = "nearest") -> float:
    """``value`` in the currency's precision: to the nearest unit, or ``"up"`` / ``"down"``."""
    scale = 10 ** decimals(currency)
    scaled = value * scale
    if how == "up":
        whole = math.ceil(scaled - 1e-9)
    elif how == "down":
        whole = math.floor(scaled + 1e-9)
    else:
        whole = math.floor(scaled + 0.5)
    return whole / scale


def same_money(a: float | None, b: float | None, currency: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 0.5 / 10 ** decimals(currency)


def minimum_budget(level: Level, currency: str | None, configured: Minimums = NO_MINIMUMS) -> float | None:
    """The smallest daily budget TikTok accepts for ``level`` in ``currency``: the configured one
    (``[actions] min_budget``) first, else the documented one (None: unknown, TikTok decides)."""
    code = (currency or "").upper()
    if level not in MINIMUM:
        return None
    if code in configured:
        campaign, adgroup = configured[code]
        return campaign if level is Level.CAMPAIGN else adgroup
    ratio = RATIOS.get(code)
    return None if ratio is None else float(MINIMUM[level] * ratio)


def maximum_budget(currency: str | None) -> float | None:
    """The documented upper bound (budgets must stay below it); None when the currency's ratio is unknown."""
    ratio = RATIOS.get((currency or "").upper())
    return None if ratio is None else float(MAXIMUM * ratio)


def known_minimums(configured: Minimums = NO_MINIMUMS) -> list[str]:
    """The currencies whose minimum budgets the monitor knows: documented and configured, sorted."""
    return sorted({*RATIOS, *(code.upper() for code in configured)})


def describe_minimums(configured: Minimums = NO_MINIMUMS) -> str:
    """One line for ``check``: where the minimums are known, and what happens elsewhere."""
    documented = ", ".join(sorted(RATIOS))
    extra = sorted(code for code in configured if code not in RATIOS)
    also = f" and [actions] min_budget's {', '.join(extra)}" if extra else ""
    return (
        f"minimums known in {documented}{also}; in any other currency a budget change is sent and TikTok's "
        "answer decides (`tiktok-monitor auth advertisers` shows each account's)"
    )


def below_documented(configured: Minimums) -> dict[str, str]:
    """Configured minimums below TikTok's documented ones, per currency: TikTok would still refuse what the
    monitor lets through."""
    found = {}
    for code, amounts in configured.items():
        ratio = RATIOS.get(code.upper())
        if ratio is None:
            continue
        levels = zip((Level.CAMPAIGN, Level.ADGROUP), amounts, strict=True)
        low = [f"{level.value} {money(amount, code)}" for level, amount in levels if amount < MINIMUM[level] * ratio]
        if low:
            documented = ", ".join(f"{level.value} {money(MINIMUM[level] * ratio, code)}" for level in MINIMUM)
            found[code] = f"{' and '.join(low)} is below TikTok's documented minimum ({documented}): TikTok refuses it"
    return found


def unknown_minimum(level: Level, currency: str | None, configured: Minimums = NO_MINIMUMS) -> str:
    """A note for a write whose minimum is unknown ("" when it is known): TikTok's answer decides."""
    if minimum_budget(level, currency, configured) is not None:
        return ""
    shown = (currency or "").upper() or "an unknown currency"
    return (
        f"TikTok decides the minimum {level.value} budget in {shown} (not known to the monitor; "
        f"[actions] min_budget can set it)"
    )


def in_lock_window(now: datetime, zone: tzinfo) -> bool:
    """True from 23:55 to midnight in the account's time zone, when TikTok refuses budget edits."""
    return now.astimezone(zone).time() >= LOCK_FROM


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """The start of the account's local day containing ``now``."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), zone)


def next_midnight(now: datetime, zone: tzinfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), zone)


def scheduled(level: Level, mode: str | None) -> bool:
    """Whether a budget change of this entity waits for the next local midnight (daily ad-group budgets)."""
    return level is Level.ADGROUP and mode in DAILY_MODES


def spend_window(mode: str | None) -> str:
    """The report window whose ``spend`` the 105 % rule compares with."""
    return "today" if mode in DAILY_MODES else "lifetime"


def floor_problem(
    level: Level,
    target: float,
    spent: float | None,
    mode: str | None,
    currency: str | None,
    configured: Minimums = NO_MINIMUMS,
) -> str:
    """Why TikTok would refuse ``target`` ("" when it would not, as far as the monitor knows): the minimum and the
    maximum (each checked only when known), 105 % of spend."""
    low = minimum_budget(level, currency, configured)
    high = maximum_budget(currency)
    if low is not None and target < low:
        return f"{money(target, currency)} is below TikTok's minimum {level.value} budget of {money(low, currency)}"
    if high is not None and target >= high:
        return f"{money(target, currency)} is not below TikTok's maximum of {money(high, currency)}"
    if spent is None:
        window = spend_window(mode)
        return f"{window}'s spend is unknown (no report data), so 105 % of spend cannot be checked"
    needed = round_money(spent * SPENT_FACTOR, currency, "up")
    if target < needed:
        when = "today" if mode in DAILY_MODES else "over its lifetime"
        return (
            f"{money(target, currency)} is below 105 % of what it spent {when} "
            f"({money(spent, currency)}; at least {money(needed, currency)})"
        )
    return ""


def spend_needs(actions: Iterable[tuple[Level, str]]) -> dict[Level, dict[str, frozenset[str]]]:
    """The report windows a poll must read for the 105 % rule: ``spend`` today and over the lifetime, at each
    level a budget action acts on. ``actions`` are (level, action type) of the loaded rules' actions."""
    return {
        level: {"today": frozenset({"spend"}), "lifetime": frozenset({"spend"})}
        for level, kind in actions
        if kind.endswith("_budget")
    }
