"""The notification outbox: messages are written in the poll's transaction, then claimed, delivered and marked.

A notification is never lost between "decided" and "sent": the poll commits the outbox row together with the
alert state that caused it. A sender (notify/outbox.py) then *claims* due rows, delivers them outside any
transaction, and records each result (sent, or failed with a retry time). Any number of senders (replicas of
``run``, a ``once`` beside a daemon) may share the database:

* :meth:`Outbox.claim_due` selects due rows that nobody else holds and sets ``claimed_by`` / ``claimed_until`` in
  the same write transaction, then commits: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two
  claimers never wait for each other and never get the same row), on SQLite inside the ``BEGIN IMMEDIATE``
  transaction of :func:`~monitor.store.db.writing` (writers are serialized, so the select and the update see no
  other writer in between). Both backends therefore hand each row to one claimant at a time.
* A claim runs out at ``claimed_until``: the rows of a sender that died (or hung) are taken over by another one
  after that, and the claim says so (``OutboxClaim.taken_over``), since such a row may have been delivered
  already. :meth:`Outbox.renew` extends a claim that would run out before a delivery could finish.
* Only the claimant records a result: :meth:`Outbox.mark_sent` and :meth:`Outbox.mark_failed` update the row only
  where ``claimed_by`` is the caller, and release the claim. A sender whose claim was taken over meanwhile gets
  False and records nothing; the row belongs to the other sender now. A result is recorded to the end of its
  COMMIT whatever cancellation comes meanwhile (the daemon's shutdown cuts the last delivery short), then the
  cancellation is raised (``record_to_the_end``, monitor.store.commit_wait): a message a channel accepted is not
  left claimed and unrecorded, for the sender that takes it over once the claim runs out to send it again.

Claimed rows are still pending: :meth:`Outbox.count_pending` counts them until their result is recorded.
Expiry is judged with the ``now`` the senders pass in, so replicas should keep their clocks in sync (NTP).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import aware, freeze
from monitor.store.commit_wait import record_limit, record_to_the_end
from monitor.store.db import reading, writing
from monitor.store.errors import StoreError
from monitor.store.models import OutboxRow
from monitor.store.values import Notification, OutboxBacklog, OutboxClaim, OutboxMessage, OutboxStatus, dumps

outbox_t = OutboxRow.__table__
_pending = outbox_t.c.status == OutboxStatus.PENDING.value


class Outbox:
    """Claim due messages and record delivery results."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(self, notifications: Iterable[Notification], now: datetime, poll_id: int | None = None) -> None:
        """Queue notifications outside a poll (inside one, use ``PollWriter.enqueue``)."""
        aware(now)
        async with writing(self._engine) as conn:
            await insert(conn, notifications, now, poll_id)

    async def fetch_due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Pending messages whose next attempt is due and that no live claim holds, oldest first (a read: what
        :meth:`claim_due` could take now)."""
        aware(now)
        query = (
            sa.select(outbox_t)
            .where(_pending, outbox_t.c.next_attempt_at <= now, _unclaimed(now))
            .order_by(outbox_t.c.id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def claim_due(self, now: datetime, claimant: str, until: datetime, limit: int = 100) -> OutboxClaim:
        """Claim up to ``limit`` due messages for ``claimant`` until ``until``, oldest first, and commit.

        Due: pending, next attempt at or before ``now``, and not under a claim that lasts beyond ``now`` (unless
        the claim is ``claimant``'s own: its earlier run was interrupted before recording, so it takes the rows
        again). Rows whose earlier claim had not been released are listed in ``taken_over``.
        """
        aware(now)
        aware(until, "until")
        query = (
            sa.select(outbox_t.c.id, outbox_t.c.claimed_by, outbox_t.c.claimed_until)
            .where(
                _pending,
                outbox_t.c.next_attempt_at <= now,
                sa.or_(_unclaimed(now), outbox_t.c.claimed_by == claimant),
            )
            .order_by(outbox_t.c.id)
            .limit(limit)
        )
        async with writing(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                # rows another sender is claiming right now are skipped, not waited for
                query = query.with_for_update(skip_locked=True)
            found = (await conn.execute(query)).all()
            if not found:
                return OutboxClaim(claimant, until)
            ids = [row.id for row in found]
            claimed = await conn.execute(
                sa.update(outbox_t)
                .where(outbox_t.c.id.in_(ids))
                .values(claimed_by=claimant, claimed_until=until)
                .returning(*outbox_t.c)
            )
            messages = sorted((_from_row(row) for row in claimed), key=lambda m: m.id)
        taken_over = {row.id: row.claimed_by or "" for row in found if row.claimed_until is not None}
        return OutboxClaim(claimant, until, tuple(messages), taken_over)

    async def renew(self, message_ids: Collection[int], claimant: str, until: datetime) -> set[int]:
        """Extend ``claimant``'s claim on these messages to ``until``; returns the ids it still holds (the others
        were taken over by another sender after the claim ran out, or are no longer pending)."""
        aware(until, "until")
        if not message_ids:
            return set()
        async with writing(self._engine) as conn:
            result = await conn.execute(
                sa.update(outbox_t)
                .where(outbox_t.c.id.in_(list(message_ids)), _pending, outbox_t.c.claimed_by == claimant)
                .values(claimed_until=until)
                .returning(outbox_t.c.id)
            )
            return {row.id for row in result}

    async def count_pending(self) -> int:
        """How many messages wait to be sent: due now, retried later or being delivered (claimed); not yet sent
        or given up."""
        query = sa.select(sa.func.count()).select_from(outbox_t).where(_pending)
        async with reading(self._engine) as conn:
            return int((await conn.execute(query)).scalar_one())

    async def backlog(self) -> list[OutboxBacklog]:
        """The pending messages per channel (as rows name it: ``slack``, ``slack:#ops``), by channel: how many,
        how many of them failed an attempt already, and when the oldest was queued (``tiktok-monitor status``)."""
        query = (
            sa.select(
                outbox_t.c.channel,
                sa.func.count().label("pending"),
                sa.func.count().filter(outbox_t.c.attempts > 0).label("retrying"),
                sa.func.min(outbox_t.c.created_at).label("oldest"),  # min() keeps the column's type: aware UTC
            )
            .where(_pending)
            .group_by(outbox_t.c.channel)
            .order_by(outbox_t.c.channel)
        )
        async with reading(self._engine) as conn:
            return [
                OutboxBacklog(row.channel, int(row.pending), int(row.retrying), row.oldest)
                for row in await conn.execute(query)
            ]

    async def get(self, message_id: int) -> OutboxMessage | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(sa.select(outbox_t).where(outbox_t.c.id == message_id))).first()
            return None if row is None else _from_row(row)

    async def mark_sent(self, message_id: int, now: datetime, *, claimant: str) -> bool:
        """Record a delivery by ``claimant`` and release its claim. False: another sender holds the message now
        (it took it over after ``claimant``'s claim ran out), nothing was recorded."""
        aware(now)
        return await self._record(
            message_id,
            claimant,
            status=OutboxStatus.SENT.value,
            sent_at=now,
            attempts=outbox_t.c.attempts + 1,
            last_error=None,
        )

    async def mark_failed(self, message_id: int, error: str, retry_at: datetime | None, *, claimant: str) -> bool:
        """Record a failed attempt by ``claimant`` and release its claim: retried at ``retry_at``, or given up for
        good when it is None. False as for :meth:`mark_sent`."""
        status = OutboxStatus.FAILED if retry_at is None else OutboxStatus.PENDING
        if retry_at is not None:
            aware(retry_at, "retry_at")
        return await self._record(
            message_id,
            claimant,
            status=status.value,
            next_attempt_at=retry_at,
            attempts=outbox_t.c.attempts + 1,
            last_error=error,
        )

    async def _record(self, message_id: int, claimant: str, **values: Any) -> bool:
        return await record_to_the_end(self._update(message_id, claimant, **values), record_limit(self._engine))

    async def _update(self, message_id: int, claimant: str, **values: Any) -> bool:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                sa.update(outbox_t)
                .where(outbox_t.c.id == message_id, _pending, outbox_t.c.claimed_by == claimant)
                .values(claimed_until=None, **values)
            )
            if result.rowcount == 1:
                return True
            row = (await conn.execute(sa.select(outbox_t.c.claimed_by).where(outbox_t.c.id == message_id))).first()
            if row is not None and row.claimed_by != claimant:
                return False
            raise StoreError(f"outbox message {message_id} does not exist or is no longer pending")


def _unclaimed(now: datetime) -> sa.ColumnElement[bool]:
    """No claim holds the row at ``now``: never claimed, released, or run out."""
    return sa.or_(outbox_t.c.claimed_until.is_(None), outbox_t.c.claimed_until <= now)


async def insert(
    conn: AsyncConnection, notifications: Iterable[Notification], now: datetime, poll_id: int | None
) -> int:
    """Write notifications as pending and due now: one statement for all of them. Returns how many."""
    rows = [
        {
            "created_at": now,
            "advertiser_id": n.advertiser_id,
            "poll_id": poll_id,
            "channel": n.channel,
            "key": n.key,
            "payload": dumps(n.payload),
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for n in notifications
    ]
    if rows:
        await conn.execute(sa.insert(outbox_t), rows)
    return len(rows)


def _from_row(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=row.channel,
        payload=freeze(json.loads(row.payload)),
        advertiser_id=row.advertiser_id,
        key=row.key,
        poll_id=row.poll_id,
        created_at=row.created_at,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
    )
