"""The guard rails: pure decisions on the writes one poll's rules (or a revert) ask for. No I/O, no clock.

:func:`decide` takes the planned actions, the facts (journal and holds) and a :class:`GuardContext` (settings,
``now``, the account's time zone and currency, and the circuit breaker's facts) and returns one
:class:`Decision` per planned action, in order, plus the cycle-level problems to tell people about. The guards,
in the order they apply:

1. **entity**: the entity must be in the poll (and the level must have the field): else skip.
2. **conflict**: two rules asking different things of one field of one entity in one cycle (pause and enable,
   or two different budgets): none of them acts, and people are told. The same ask twice is done once.
3. **pending**: an earlier write of the field has no known outcome (its journal entry is pending): skip.
4. **manual override**: a person undid the monitor's change (re-enabled what it paused, set another budget, or
   ran ``revert``): rules leave that field alone for ``override_hold``. Reverts themselves are exempt.
5. **idempotence**: never pause what is not enabled, enable what is not paused, or set a budget it already has
   (or a daily ad-group budget already scheduled for tomorrow).
6. **budget rules**: no edits 23:55-00:00 account time; at most ``max_change_per_day`` away from the budget the
   entity had before the monitor's first change that local day, across all rules (larger asks are trimmed to
   the limit; at the limit, skip); never below the currency's minimum, at or above its maximum, or below 105 %
   of spend (unknown spend: skip). TikTok's floors are not rounded up to: a refused ask is skipped. Where the
   minimum is unknown (a currency neither documented nor in ``[actions] min_budget``) the write goes, its
   reason saying that TikTok decides: TikTok's refusal is journaled as a failed write.
7. **dry run**: the kill switch (``[actions] enabled = false``), the rule's ``dry_run``, a revert's ``--dry-run``
   or an advertiser that may not be written to (``read_only``, a hook for analyst-only access) turn "go" into
   "dry run": everything above was still checked, so the dry run says what would really happen.
8. **circuit breaker** (fleet-wide, when ``GuardContext.breaker`` is given): at most ``max_writes`` real writes
   within any ``window``, counted across every advertiser and every process sharing the database (the journal's
   writes, :class:`~monitor.actions.facts.BreakerFacts`). A poll whose writes would take the count past
   ``max_writes`` makes none of them and *opens* the breaker (:attr:`GuardResult.opens`); while it is open every
   write is held back (skipped, the reason naming the setting and ``tiktok-monitor actions resume``) until a
   person resumes or ``breaker_reset`` passes. Reverts (a person's decision) neither count nor are held back.
   The runner reads the facts and records the outcome atomically (:mod:`monitor.actions.breaker`); this stays
   pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from monitor.actions import budget as rules
from monitor.actions.base import (
    BUDGET,
    SCHEDULED_FROM,
    STATUS,
    STATUS_TARGET,
    Decision,
    GuardSettings,
    Planned,
    Verdict,
)
from monitor.actions.facts import BreakerFacts, Facts
from monitor.domain import BreakerEpisode, Level
from monitor.domain.budget import INFINITE
from monitor.durations import format_duration


@dataclass(frozen=True)
class GuardContext:
    """Everything but the plans: ``read_only`` (a reason) makes every write of the advertiser a dry run;
    ``breaker`` (None: no breaker) is what the circuit breaker knows."""

    now: datetime
    zone: tzinfo
    currency: str | None
    settings: GuardSettings = field(default_factory=GuardSettings)
    facts: Facts = field(default_factory=Facts)
    read_only: str | None = None
    breaker: BreakerFacts | None = None  # None: no circuit breaker (a revert)


@dataclass(frozen=True)
class GuardResult:
    decisions: tuple[Decision, ...]
    problems: tuple[str, ...] = ()  # conflicting rules, for an operational message
    held: tuple[Decision, ...] = ()  # the writes the circuit breaker held back (among ``decisions``)
    opens: str | None = None  # why the circuit breaker opens now (None: it stays as it was)

    @property
    def writes(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.verdict is Verdict.GO)


def decide(plans: Sequence[Planned], ctx: GuardContext) -> GuardResult:
    """One decision per plan, in the order given (see the module docstring for the guards)."""
    decisions: list[Decision | None] = [None] * len(plans)
    asked: dict[int, Any] = {}
    for i, plan in enumerate(plans):
        problem, value = _ask(plan)
        if problem:
            decisions[i] = _skip(plan, problem)
        else:
            asked[i] = value
    problems = _conflicts(plans, asked, decisions, ctx.currency)
    for i, plan in enumerate(plans):
        if decisions[i] is None:
            decisions[i] = _check(plan, asked[i], ctx)
    final = [_dry(d, ctx) for d in decisions if d is not None]
    final, held, opens = _breaker(final, ctx)
    return GuardResult(tuple(final), tuple(problems), held, opens)


def _breaker(final: list[Decision], ctx: GuardContext) -> tuple[list[Decision], tuple[Decision, ...], str | None]:
    """Guard 8: hold every write back while the breaker is open, or when this poll's writes would take the count
    past ``max_writes`` (which opens it)."""
    facts, settings = ctx.breaker, ctx.settings
    if facts is None:
        return final, (), None
    live = [d for d in final if d.verdict is Verdict.GO and d.planned.reverts is None]
    if not live:
        return final, (), None
    opens = None
    episode = facts.open
    if episode is None:
        if facts.writes + len(live) <= settings.max_writes:
            return final, (), None
        opens = (
            f"{facts.writes} writes within {format_duration(settings.window)} and {len(live)} more asked, more than "
            f"max_writes = {settings.max_writes}"
        )
        episode = BreakerEpisode(facts.now, opens)
    why = held_reason(episode, settings)
    holding = {id(d) for d in live}
    out: list[Decision] = []
    held: list[Decision] = []
    for decision in final:
        if id(decision) in holding:
            decision = _skip(decision.planned, why, decision)
            held.append(decision)
        out.append(decision)
    return out, tuple(held), opens


def held_reason(episode: BreakerEpisode, settings: GuardSettings) -> str:
    """Why the open breaker holds a write back: what opened it, the setting, and how it closes."""
    opened, closes = episode.opened_at.astimezone(UTC), episode.closes_at(settings.breaker_reset).astimezone(UTC)
    return (
        f"circuit breaker open since {opened:%Y-%m-%d %H:%M} UTC: {episode.reason}; resume with "
        f"tiktok-monitor actions resume (or it closes by itself at {closes:%Y-%m-%d %H:%M} UTC: breaker_reset = "
        f"{format_duration(settings.breaker_reset)})"
    )


def _skip(plan: Planned, reason: str, was: Decision | None = None) -> Decision:
    if was is not None:
        return Decision(plan, Verdict.SKIP, reason, was.before, was.after)
    return Decision(plan, Verdict.SKIP, reason)


def _ask(plan: Planned) -> tuple[str, Any]:
    """The value the plan asks for before any guard trims it, or why it cannot be asked at all."""
    entity = plan.entity
    if entity is None:
        return f"{plan.level.value} {plan.entity_id} was not returned by the API at this poll", None
    if plan.level is Level.ADVERTISER:
        return "advertisers have no status or budget the API can change", None
    if plan.field == STATUS:
        return "", STATUS_TARGET[plan.type]
    if plan.level is Level.AD:
        return "ads have no budget", None
    if entity.budget_mode == INFINITE:
        return f"{plan.level.value} has no budget to change (BUDGET_MODE_INFINITE)", None
    if entity.budget is None or entity.budget_mode is None:
        return "its budget or budget mode is unknown", None
    if plan.type == "set_budget" or plan.to is not None:
        target = plan.to if plan.to is not None else plan.action.to if plan.action else None
    else:
        target = plan.action.target_budget(entity.budget) if plan.action else None
    if target is None:
        return "the new budget cannot be computed", None
    return "", target


def _conflicts(
    plans: Sequence[Planned], asked: dict[int, Any], decisions: list[Decision | None], currency: str | None
) -> list[str]:
    """Skip plans that contradict each other on one field of one entity; return what to tell people."""
    groups: dict[tuple[Any, str], list[int]] = {}
    for i in asked:
        groups.setdefault((plans[i].key, plans[i].field), []).append(i)
    problems = []
    for (key, name), members in groups.items():
        if len(members) < 2:
            continue
        live = [i for i in members if not plans[i].dry_run]
        values = {_norm(asked[i], name, currency) for i in (live or members)}
        if len(values) > 1:
            what = ", ".join(f"{plans[i].who} asks {plans[i].type} ({_show(asked[i], name)})" for i in members)
            why = f"conflicting rules on {key[0].value} {key[1]}: {what}: none of them acted"
            problems.append(why)
            for i in members:
                decisions[i] = _skip(plans[i], why)
            continue
        first = (live or members)[0]
        for i in members:
            if i != first:
                same = _norm(asked[i], name, currency) == _norm(asked[first], name, currency)
                why = (
                    f"{plans[first].who} makes this change in this cycle"
                    if same
                    else (f"conflicts with {plans[first].who}, which acts")
                )
                decisions[i] = _skip(plans[i], why)
    return problems


def _norm(value: Any, name: str, currency: str | None) -> Any:
    return rules.round_money(float(value), currency) if name == BUDGET else value


def _show(value: Any, name: str) -> str:
    return f"{value:g}" if name == BUDGET else str(value)


def _check(plan: Planned, value: Any, ctx: GuardContext) -> Decision:
    entity = plan.entity
    assert entity is not None  # _ask skipped the others
    pending = ctx.facts.pending.get((plan.key, plan.field))
    if pending is not None:
        return _skip(plan, f"journal #{pending.id} ({pending.intent.action}) on it has no known outcome yet")
    if plan.reverts is None:
        hold = ctx.facts.hold(plan.key, plan.field, ctx.now)
        if hold is not None:
            return _skip(plan, f"manual override: {hold.describe()}")
    if plan.field == STATUS:
        return _status(plan, value)
    return _budget(plan, float(value), ctx)


def _status(plan: Planned, target: str) -> Decision:
    current = plan.entity.operation_status if plan.entity else None
    before, after = {STATUS: current}, {STATUS: target}
    if current == target:
        word = "paused" if target == "DISABLE" else "enabled"
        return Decision(plan, Verdict.SKIP, f"already {word} ({STATUS} {current})", before, after)
    if current not in STATUS_TARGET.values():
        shown = current or "unknown"
        return Decision(plan, Verdict.SKIP, f"{STATUS} is {shown}: only ENABLE and DISABLE are switched", before, after)
    return Decision(plan, Verdict.GO, f"{STATUS} {current} -> {target}", before, after)


def _budget(plan: Planned, target: float, ctx: GuardContext) -> Decision:
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


def _dry(decision: Decision | None, ctx: GuardContext) -> Decision:
    assert decision is not None
    if decision.verdict is not Verdict.GO:
        return decision
    plan = decision.planned
    why = None
    if not ctx.settings.enabled:
        why = "actions are disabled ([actions] enabled = false)"
    elif ctx.read_only:
        why = ctx.read_only
    elif plan.dry_run:
        why = "the rule is a dry run" if plan.reverts is None else "--dry-run"
    if why is None:
        return decision
    return Decision(plan, Verdict.DRY_RUN, f"would do: {decision.reason} ({why})", decision.before, decision.after)
