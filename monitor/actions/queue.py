"""The act step's part for rules with ``approve``: which of a poll's writes wait for a person instead. Pure.

:func:`queue` takes the poll's planned actions and the guards' decisions on them (without the circuit breaker:
nothing is written now, and the breaker is asked again at approval). A write of a rule with ``approve`` that the
guards would let go becomes an :class:`~monitor.domain.approvals.Approval` (pending, expiring ``approve_within``
after ``now``) and a :class:`~monitor.actions.base.Taken` "awaiting approval" whose reason says how to approve.
An alert that already has a pending approval gets no second one (its Taken names the existing one). The other
plans (rules without ``approve``, and writes of rules with it that a guard stops or makes a dry run) are left to
the usual guards and execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.actions.base import Decision, Planned, Taken, Verdict
from monitor.domain import Level, Outcome
from monitor.domain.approvals import Approval, PlannedChange, approval_id, how_to_approve


@dataclass(frozen=True)
class Queued:
    """What :func:`queue` decided: the ``approvals`` to store (new ones), one ``taken`` per queued plan, and the
    ``rest`` of the plans, for the guards and the executor."""

    approvals: tuple[Approval, ...]
    taken: tuple[Taken, ...]
    rest: tuple[Planned, ...]


def queue(
    advertiser_id: str,
    plans: Sequence[Planned],
    decisions: Sequence[Decision],
    waiting: Iterable[Approval],
    values: Mapping[tuple[str, Level, str], Mapping[str, Any]],
    now: datetime,
    poll_id: int | None,
) -> Queued:
    """See the module docstring. ``decisions`` are the guards' on ``plans`` (same order); ``waiting`` the
    advertiser's pending approvals; ``values`` the rule's values per alert (rule, level, entity id)."""
    pending = {a.alert: a for a in waiting}
    made: list[Approval] = []
    taken: list[Taken] = []
    rest: list[Planned] = []
    for plan, decision in zip(plans, decisions, strict=True):
        if plan.approve is None or plan.rule is None or decision.verdict is not Verdict.GO:
            rest.append(plan)
            continue
        alert = (plan.rule, plan.level, plan.entity_id)
        approval = pending.get(alert)
        if approval is None:
            action = plan.action
            change = PlannedChange(
                plan.type,
                to=action.to if action is not None else plan.to,
                by=action.by if action is not None else None,
                min=action.min if action is not None else None,
                max=action.max if action is not None else None,
                before=decision.before,
            )
            stamp = poll_id if poll_id is not None else int(now.timestamp())
            approval = Approval(
                id=approval_id(stamp, len(made) + 1),
                advertiser_id=advertiser_id,
                rule=plan.rule,
                level=plan.level,
                entity_id=plan.entity_id,
                entity_name=plan.entity.name if plan.entity is not None else None,
                change=change,
                reason=dict(values.get(alert, {})),
                requested_at=now,
                expires_at=now + plan.approve,
            )
            made.append(approval)
            pending[alert] = approval
        taken.append(Taken(plan, Outcome.AWAITING, how_to_approve(approval), approval_id=approval.id))
    return Queued(tuple(made), tuple(taken), tuple(rest))
