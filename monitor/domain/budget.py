"""Budget modes, as TikTok names them (tiktok-api.md §6), and the bounds of budgets people write."""

from __future__ import annotations

DAY = "BUDGET_MODE_DAY"
DYNAMIC_DAY = "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"
TOTAL = "BUDGET_MODE_TOTAL"
INFINITE = "BUDGET_MODE_INFINITE"
#: Every documented budget mode.
BUDGET_MODES = frozenset({INFINITE, TOTAL, DAY, DYNAMIC_DAY})
#: Modes whose ``budget`` is a daily budget (budget_used = today's spend / budget; 105 % of today's spend).
DAILY_MODES = frozenset({DAY, DYNAMIC_DAY})
#: The largest budget amount a config or rule file may write, in the account's currency: more cannot be meant, even
#: in currencies with small units (a typo, an extra digit or a stray exponent).
MAX_AMOUNT = 1e12
AMOUNT_TEXT = "1e12"  # MAX_AMOUNT as messages write it
#: The largest budget change a config or rule file may write as a percentage: +1000 % is eleven times the budget.
MAX_CHANGE_PERCENT = 1000
#: currencies whose amounts are whole numbers: budgets sent to TikTok and amounts shown to people (ISO 4217
#: currencies without minor units, and those TikTok takes without decimals: IDR, HUF, TWD)
WHOLE_CURRENCIES = frozenset({"JPY", "KRW", "VND", "IDR", "CLP", "ISK", "HUF", "TWD", "UGX", "PYG"})
