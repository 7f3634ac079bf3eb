"""The guard rails: pure decisions on the writes one poll's rules (or a revert) ask for. No I/O, no clock.

:func:`decide` takes the planned actions, the facts (journal and holds) and a :class:`GuardContext` (settings,
``now``, the account's time zone and currency, and the circuit breaker's facts) and returns one
:class:`Decision` per planned action, in order, plus the cycle-level problems to tell people about. The guards,
in the order they apply (this module has guards 1, 3, 4, 5 and 7 and the order; guard 2 is
:mod:`~monitor.actions.guard_conflicts`, the budget's part of 5 and guard 6 :mod:`~monitor.actions.guard_budget`,
guard 8 :mod:`~monitor.actions.guard_breaker`):

1. **entity**: the entity must be in the poll (and the level must have the field): else skip.
2. **conflict**: two rules asking different things of one field of one entity in one cycle (pause and enable,
   or two different budgets): none of them acts, and people are told. The same ask twice is done once.
3. **pending**: an earlier write of the field has no known outcome (its journal entry is pending), or the rule
   wrote it in a poll that did not commit (``Facts.uncommitted``: the rule fires again for the same firing): skip.
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
from datetime import datetime, tzinfo
from typing import Any

from monitor.actions.base import STATUS, STATUS_TARGET, Decision, GuardSettings, Planned, Verdict
from monitor.actions.facts import BreakerFacts, Facts
from monitor.actions.guard_breaker import hold_back
from monitor.actions.guard_budget import budget_decision
from monitor.actions.guard_conflicts import conflicts
from monitor.domain import Level
from monitor.domain.budget import INFINITE


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
    problems = conflicts(plans, asked, decisions, ctx.currency)
    for i, plan in enumerate(plans):
        if decisions[i] is None:
            decisions[i] = _check(plan, asked[i], ctx)
    final = [_dry(d, ctx) for d in decisions if d is not None]
    final, held, opens = hold_back(final, ctx.breaker, ctx.settings)
    return GuardResult(tuple(final), tuple(problems), held, opens)


def _skip(plan: Planned, reason: str) -> Decision:
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


def _check(plan: Planned, value: Any, ctx: GuardContext) -> Decision:
    entity = plan.entity
    assert entity is not None  # _ask skipped the others
    pending = ctx.facts.pending.get((plan.key, plan.field))
    if pending is not None:
        return _skip(plan, f"journal #{pending.id} ({pending.intent.action}) on it has no known outcome yet")
    done = ctx.facts.uncommitted.get((plan.rule, plan.key, plan.field)) if plan.rule else None
    if done is not None and plan.reverts is None:
        return _skip(plan, f"done already (journal #{done.id}) by poll #{done.intent.poll_id}, which did not commit")
    if plan.reverts is None:
        hold = ctx.facts.hold(plan.key, plan.field, ctx.now)
        if hold is not None:
            return _skip(plan, f"manual override: {hold.describe()}")
    if plan.field == STATUS:
        return _status(plan, value)
    return budget_decision(plan, float(value), ctx)


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
