"""Budget modes, as TikTok names them (tiktok-api.md §6)."""

from __future__ import annotations

DAY = "BUDGET_MODE_DAY"
DYNAMIC_DAY = "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"
TOTAL = "BUDGET_MODE_TOTAL"
INFINITE = "BUDGET_MODE_INFINITE"
#: Every documented budget mode.
BUDGET_MODES = frozenset({INFINITE, TOTAL, DAY, DYNAMIC_DAY})
#: Modes whose ``budget`` is a daily budget (budget_used = today's spend / budget; 105 % of today's spend).
DAILY_MODES = frozenset({DAY, DYNAMIC_DAY})
