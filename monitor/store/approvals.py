"""Approvals (:class:`monitor.domain.approvals.Approval`): actions of rules with ``approve`` waiting for a person.

A poll makes them in its own transaction (``PollWriter.save_approvals``, see :func:`insert`); people decide them
through :class:`monitor.steering.Steering` (``approve`` / ``reject``), never by writing here directly. The API,
for front ends (``status``, the status page, Slack) and for Steering::

    approvals = store.approvals
    await approvals.pending(now)                         # pending, not yet expired at now, oldest first
    await approvals.pending(now, advertiser_id="700...")  # ... of one advertiser
    await approvals.get("4821-1")                        # one, in any state, or None
    await approvals.list(limit=50)                       # every stored one, newest first (pending or decided)
    await approvals.claim("4821-1", ApprovalState.APPROVED, by="alice", now=now)  # -> the Approval, or None
    await approvals.settle("4821-1", ApprovalState.BLOCKED, outcome="...", journal_id=None)
    await approvals.expire_due(now, compose)             # pending ones past expires_at -> expired, with messages

:meth:`Approvals.claim` is the one decision point: a conditional ``UPDATE ... WHERE state = 'pending' AND
expires_at > now``, so of two replicas, or a Slack click and a page click, deciding one approval at once exactly
one gets it (the other gets None and reads who did). :meth:`Approvals.expire_due` is idempotent the same way
(any replica may run it; each approval is expired, and told, once). ``Approval.to_json()`` is the plain form.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import aware
from monitor.domain.approvals import EXPIRY, Approval, ApprovalState, PlannedChange
from monitor.store import outbox
from monitor.store.db import reading, writing
from monitor.store.models import ApprovalRow
from monitor.store.values import Notification

approvals_t = ApprovalRow.__table__
PENDING = ApprovalState.PENDING.value


class Approvals:
    """Read, claim, settle and expire approvals (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def pending(self, now: datetime, advertiser_id: str | None = None) -> builtins.list[Approval]:
        """The approvals still waiting at ``now`` (pending and not past ``expires_at``), oldest first."""
        query = (
            sa.select(approvals_t)
            .where(approvals_t.c.state == PENDING, approvals_t.c.expires_at > aware(now))
            .order_by(approvals_t.c.requested_at, approvals_t.c.id)
        )
        if advertiser_id is not None:
            query = query.where(approvals_t.c.advertiser_id == advertiser_id)
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def waiting(self, advertiser_id: str) -> builtins.list[Approval]:
        """Every approval of ``advertiser_id`` in state pending (expired or not): what a poll reads so that one
        alert never has two (a pending one past its expiry still counts until the expiry job drops it)."""
        query = sa.select(approvals_t).where(
            approvals_t.c.advertiser_id == advertiser_id, approvals_t.c.state == PENDING
        )
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def get(self, approval_id: str) -> Approval | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(sa.select(approvals_t).where(approvals_t.c.id == str(approval_id)))).first()
        return None if row is None else _from_row(row)

    async def list(self, limit: int | None = 50) -> builtins.list[Approval]:
        """Every stored approval, newest first (``limit`` None: all)."""
        query = sa.select(approvals_t).order_by(approvals_t.c.requested_at.desc(), approvals_t.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def claim(self, approval_id: str, state: ApprovalState, *, by: str, now: datetime) -> Approval | None:
        """Decide a pending, unexpired approval as ``state`` (approved or rejected) by ``by`` at ``now``, in one
        conditional update; the approval as claimed, or None when it was not pending any more (someone else
        decided it, it expired, or there is no such id)."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                sa.update(approvals_t)
                .where(
                    approvals_t.c.id == str(approval_id),
                    approvals_t.c.state == PENDING,
                    approvals_t.c.expires_at > aware(now),
                )
                .values(state=ApprovalState(state).value, decided_by=by, decided_at=now)
            )
            if result.rowcount != 1:
                return None
        return await self.get(approval_id)

    async def unclaim(self, approval_id: str, by: str) -> None:
        """Put an approval ``by`` claimed back to pending (its action could not be tried: a poll held the lease)."""
        async with writing(self._engine) as conn:
            await conn.execute(
                sa.update(approvals_t)
                .where(
                    approvals_t.c.id == str(approval_id),
                    approvals_t.c.state == ApprovalState.APPROVED.value,
                    approvals_t.c.decided_by == by,
                    approvals_t.c.journal_id.is_(None),
                    approvals_t.c.outcome.is_(None),
                )
                .values(state=PENDING, decided_by=None, decided_at=None)
            )

    async def settle(
        self, approval_id: str, state: ApprovalState, *, outcome: str, journal_id: int | None = None
    ) -> Approval | None:
        """Record what became of an approved action: ``state`` approved (carried out, ``journal_id``) or blocked
        (a guard said no), and the ``outcome`` for people."""
        async with writing(self._engine) as conn:
            await conn.execute(
                sa.update(approvals_t)
                .where(approvals_t.c.id == str(approval_id))
                .values(state=ApprovalState(state).value, outcome=outcome, journal_id=journal_id)
            )
        return await self.get(approval_id)

    async def expire_due(
        self, now: datetime, compose: Callable[[Approval], Sequence[Notification]]
    ) -> builtins.list[Approval]:
        """Mark the pending approvals past ``expires_at`` expired (decided by "expiry" at ``now``) and queue the
        messages ``compose`` makes for each, in one transaction; returns those this call expired. Idempotent: an
        approval another replica (or an approver) got to first is left alone."""
        expired: builtins.list[Approval] = []
        async with writing(self._engine) as conn:
            due = (
                await conn.execute(
                    sa.select(approvals_t).where(approvals_t.c.state == PENDING, approvals_t.c.expires_at <= aware(now))
                )
            ).all()
            rows: builtins.list[Notification] = []
            for row in due:
                result = await conn.execute(
                    sa.update(approvals_t)
                    .where(approvals_t.c.id == row.id, approvals_t.c.state == PENDING)
                    .values(
                        state=ApprovalState.EXPIRED.value,
                        decided_by=EXPIRY,
                        decided_at=now,
                        outcome="expired before anyone approved it: the action was dropped",
                    )
                )
                if result.rowcount != 1:
                    continue
                approval = _from_row(row)
                expired.append(approval)
                rows.extend(compose(approval))
            await outbox.insert(conn, rows, now, None)
        return [a for a in [await self.get(a.id) for a in expired] if a is not None]


async def insert(conn: AsyncConnection, approvals: Iterable[Approval]) -> None:
    """Store new pending approvals inside the caller's transaction (the poll's)."""
    values = [_values(a) for a in approvals]
    if values:
        await conn.execute(sa.insert(approvals_t), values)


def _values(a: Approval) -> dict[str, Any]:
    change = a.change
    return {
        "id": a.id,
        "advertiser_id": a.advertiser_id,
        "rule": a.rule,
        "level": a.level.value,
        "entity_id": a.entity_id,
        "entity_name": a.entity_name,
        "change": json.dumps(
            {
                "type": change.type,
                "to": change.to,
                "by": change.by,
                "min": change.min,
                "max": change.max,
                "before": dict(change.before),
            }
        ),
        "reason": json.dumps(_plain(a.reason)),
        "requested_at": a.requested_at,
        "expires_at": a.expires_at,
        "state": a.state.value,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at,
        "journal_id": a.journal_id,
        "outcome": a.outcome,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _from_row(row: Any) -> Approval:
    change = json.loads(row.change)
    return Approval(
        id=row.id,
        advertiser_id=row.advertiser_id,
        rule=row.rule,
        level=row.level,
        entity_id=row.entity_id,
        entity_name=row.entity_name,
        change=PlannedChange(
            change["type"], change.get("to"), change.get("by"), change.get("min"), change.get("max"), change["before"]
        ),
        reason=json.loads(row.reason),
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        state=ApprovalState(row.state),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        journal_id=row.journal_id,
        outcome=row.outcome,
    )
