"""Guard 6 of :func:`monitor.actions.guard.decide`, pure: a budget change against TikTok's budget rules
(:mod:`monitor.actions.budget`) and the daily change limit.

A budget it already has (or a daily ad-group budget already scheduled for tomorrow) is skipped (guard 5's part
for budgets). Then: no edits 23:55-00:00 account time; at most ``max_change_per_day`` away from the budget the
entity had before the monitor's first change that local day, across all rules (larger asks are trimmed to the
limit; at the limit, skip); never below the currency's minimum, at or above its maximum, or below 105 % of spend
(unknown spend: skip). Where the minimum is unknown the write goes, its reason saying that TikTok decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.actions import budget as rules
from monitor.actions.base import BUDGET, SCHEDULED_FROM, Decision, GuardSettings, Planned, Verdict

if TYPE_CHECKING:  # the guards' context is defined where decide() is, which imports this module
    from monitor.actions.guard import GuardContext


def budget_decision(plan: Planned, target: float, ctx: GuardContext) -> Decision:
    """Go (the target, perhaps trimmed, and why) or skip (why not) for a budget change of ``plan.entity``."""
    entity = plan.entity
    assert entity is not None and entity.budget is not None
    currency, now = ctx.currency, ctx.now
    current, mode = entity.budget, entity.budget_mode
    later = rules.scheduled(plan.level, mode)
    today = ctx.facts.budget_today.get(plan.key, ())
    pending_value = _scheduled_value(today, now) if later else None
    effective = pending_value if pending_value is not None else current
    target = rules.round_money(target, currency)
    before = {BUDGET: current}
    after: dict[str, Any] = {BUDGET: target}
    if later:
        after[SCHEDULED_FROM] = rules.next_midnight(now, ctx.zone).isoformat()

    def skip(why: str) -> Decision:
        return Decision(plan, Verdict.SKIP, why, before, after)

    if rules.same_money(target, effective, currency):
        shown = rules.money(effective, currency)
        return skip(
            f"already scheduled for tomorrow: {shown}" if pending_value is not None else f"budget is already {shown}"
        )
    if rules.in_lock_window(now, ctx.zone):
        return skip("TikTok refuses budget changes from 23:55 to midnight, account time")
    notes = []
    base = float(today[0].intent.before.get(BUDGET, current)) if today else current
    low, high = _day_range(base, ctx.settings)
    if target > high or target < low:
        target = rules.round_money(high, currency, "down") if target > high else rules.round_money(low, currency, "up")
        after[BUDGET] = target
        notes.append(
            f"trimmed to {rules.money(target, currency)} by max_change_per_day = {ctx.settings.describe_limit()} "
            f"(from {rules.money(base, currency)} at the start of the day)"
        )
        if rules.same_money(target, effective, currency):
            return skip(f"max_change_per_day = {ctx.settings.describe_limit()} reached for today: {notes[0]}")
    spent = entity.metric("spend", rules.spend_window(mode))
    configured = ctx.settings.min_budget
    problem = rules.floor_problem(plan.level, target, _number(spent), mode, currency, configured)
    if problem:
        return skip(f"not changing the budget: {problem}")
    unknown = rules.unknown_minimum(plan.level, currency, configured)
    if unknown:
        notes.append(unknown)
    reason = f"budget {rules.money(effective, currency)} -> {rules.money(target, currency)}"
    if later:
        reason += " from the next local midnight (daily ad-group budgets take effect the next day)"
    return Decision(plan, Verdict.GO, "; ".join([reason, *notes]), before, after)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _day_range(base: float, settings: GuardSettings) -> tuple[float, float]:
    if settings.change_percent is not None:
        factor = 1 + settings.change_percent / 100
        return base / factor, base * factor
    amount = settings.change_amount or 0.0
    return max(base - amount, 0.0), base + amount


def _scheduled_value(today: Sequence[Any], now: datetime) -> float | None:
    """The daily ad-group budget the monitor scheduled today for the next day, if one is still to come."""
    for entry in reversed(today):
        starts = entry.intent.after.get(SCHEDULED_FROM)
        if starts is not None and datetime.fromisoformat(starts) > now:
            return float(entry.intent.after[BUDGET])
    return None
