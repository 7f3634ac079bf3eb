"""The vocabulary of actions: what a rule (or a revert) asks for, what the guards decide, and what happened.

A :class:`Planned` action is one write one rule asks for on one entity ("pause campaign 1801..."), built from a
lifecycle transition with ``act`` (:func:`planned_from`) or from a journal entry to undo (``revert``). The guards
(:mod:`monitor.actions.guard`) turn each into a :class:`Decision`: go, dry run or skip, with the state before and
the state asked for. The runner carries the decisions out and reports each as a :class:`Taken`, which becomes the
``action`` shown with the entity in alert messages, a line of ``once``'s summary and a metric.

Only two fields are ever written: ``operation_status`` (pause / enable) and ``budget``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from monitor.config import ActionsSettings
from monitor.domain import EntityKey, EntityState, Level, Outcome
from monitor.notify.message import Action as MessageAction
from monitor.rules.lifecycle import Transition
from monitor.rules.model import Action as RuleAction

STATUS = "operation_status"
BUDGET = "budget"
#: The entity fields actions write, and so the ones verification and revert look at.
WRITABLE = (STATUS, BUDGET)
#: A daily ad-group budget takes effect at the next local midnight; the journal's ``after`` says when.
SCHEDULED_FROM = "scheduled_from"
STATUS_TARGET = {"pause": "DISABLE", "enable": "ENABLE"}
BUDGET_TYPES = ("scale_budget", "set_budget")


class Verdict(enum.StrEnum):
    GO = "go"  # write it
    DRY_RUN = "dry run"  # say what would be written; write nothing
    SKIP = "skip"  # a guard said no (the reason says which)


@dataclass(frozen=True)
class Planned:
    """One write asked for. ``entity`` is the entity as the latest poll (or the revert's read) saw it.

    ``action`` carries a rule's budget parameters; ``to`` is the budget a revert restores. ``reverts`` names the
    journal entry a revert undoes (reverts are made by people: manual-override holds do not apply to them).
    ``approve``: the rule's ``approve_within`` (the write waits for a person); ``approved_by``: who approved it.
    """

    type: str  # pause | enable | scale_budget | set_budget
    level: Level
    entity_id: str
    entity: EntityState | None
    reason: str
    rule: str | None = None
    action: RuleAction | None = None
    dry_run: bool = False
    reverts: int | None = None
    to: float | None = None
    approve: timedelta | None = None  # the rule's approve_within: the write waits for a person (None: it goes)
    approved_by: str | None = None  # who approved it (a write carried out on approval)

    @property
    def key(self) -> EntityKey:
        return (self.level, self.entity_id)

    @property
    def field(self) -> str:
        return STATUS if self.type in STATUS_TARGET else BUDGET

    @property
    def who(self) -> str:
        """Who asks: "rule overspend", "revert of #12"."""
        if self.reverts is not None:
            return f"revert of #{self.reverts}"
        approved = f" approved by {self.approved_by}" if self.approved_by else ""
        return (f"rule {self.rule}" if self.rule else "someone") + approved

    def describe(self) -> str:
        """ "pause campaign 1801100000000000001" """
        return f"{self.type} {self.level.value} {self.entity_id}"


@dataclass(frozen=True)
class Decision:
    """What the guards decided for one planned action: ``before`` is the field's value now, ``after`` what it
    is set to (a budget may be adjusted by a guard; a daily ad-group budget carries ``scheduled_from``)."""

    planned: Planned
    verdict: Verdict
    reason: str
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Taken:
    """What became of one planned action: the outcome people see, and where it is journaled."""

    planned: Planned
    outcome: Outcome
    reason: str
    journal_id: int | None = None
    request_id: str | None = None
    approval_id: str | None = None  # outcome "awaiting approval": the approval it waits in

    def message_action(self) -> MessageAction:
        return MessageAction(self.planned.type, self.outcome, self.reason, self.journal_id, self.approval_id)

    def line(self) -> str:
        """One line for a terminal: "pause campaign 1801... (rule overspend): done (journal #3)"."""
        where = f" (journal #{self.journal_id})" if self.journal_id is not None else ""
        return f"{self.planned.describe()} ({self.planned.who}): {self.outcome.value}{where}: {self.reason}"


#: Metric outcome per message outcome (``actions_total{type,outcome}``).
METRIC_OUTCOME = {
    Outcome.DONE: "applied",
    Outcome.DRY_RUN: "dry_run",
    Outcome.SKIPPED: "blocked",
    Outcome.FAILED: "failed",
    Outcome.AWAITING: "awaiting_approval",
}


@dataclass(frozen=True)
class GuardSettings:
    """``[actions]`` as the guards use it (see config.example.toml). One of ``change_percent`` and
    ``change_amount`` bounds how far a budget moves per entity per local day. ``max_writes`` real writes within
    any ``window``, across every advertiser and replica, open the circuit breaker, which closes after
    ``breaker_reset`` (or with ``tiktok-monitor actions resume``). ``min_budget``: configured minimum daily
    budgets, currency -> (campaign, ad group), before the documented ones."""

    enabled: bool = True
    max_writes: int = 10
    window: timedelta = timedelta(minutes=5)
    breaker_reset: timedelta = timedelta(hours=1)
    change_percent: float | None = 100.0
    change_amount: float | None = None
    override_hold: timedelta = timedelta(hours=24)
    min_budget: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, actions: ActionsSettings, interval: timedelta | None = None) -> GuardSettings:
        """From ``[actions]``; ``window`` defaults to ``interval`` (``[monitor] interval``)."""
        percent = actions.change_percent
        return cls(
            enabled=actions.enabled,
            max_writes=actions.max_writes,
            window=actions.window or interval or cls.window,
            breaker_reset=actions.breaker_reset,
            change_percent=percent,
            change_amount=None if percent is not None else float(actions.max_change_per_day),
            override_hold=actions.override_hold,
            min_budget=dict(actions.min_budget),
        )

    def describe_limit(self) -> str:
        if self.change_percent is not None:
            return f"+{self.change_percent:g}%"
        return f"{self.change_amount:g}"


def planned_from(transitions: Iterable[Transition]) -> list[Planned]:
    """The actions of the transitions that act (a rule starting to fire), in transition order."""
    out = []
    for t in transitions:
        action = t.rule.action
        if not t.act or action is None:
            continue
        entity = t.entity if t.entity is not None else t.finding.entity if t.finding is not None else None
        out.append(
            Planned(
                type=action.type,
                level=t.alert.level,
                entity_id=t.alert.entity_id,
                entity=entity,
                reason=t.reason,
                rule=t.rule.name,
                action=action,
                dry_run=t.rule.dry_run,
                approve=t.rule.approve,
            )
        )
    return out
