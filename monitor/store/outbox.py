"""The notification outbox: messages are written in the poll's transaction, then delivered and marked.

A notification is never lost between "decided" and "sent": the poll commits the outbox row together with the
alert state that caused it, and a sender (notify/outbox.py) fetches due rows, delivers them, and records the
result (sent, or failed with a retry time). A crash after delivery but before ``mark_sent`` re-sends once:
delivery is at-least-once. One sender per database is assumed for now (no row claiming across replicas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import aware, freeze
from monitor.store.db import reading, writing
from monitor.store.errors import StoreError
from monitor.store.models import OutboxRow
from monitor.store.values import Notification, OutboxMessage, OutboxStatus, dumps

outbox_t = OutboxRow.__table__


class Outbox:
    """Fetch due messages and record delivery results."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(self, notifications: Iterable[Notification], now: datetime, poll_id: int | None = None) -> None:
        """Queue notifications outside a poll (inside one, use ``PollWriter.enqueue``)."""
        aware(now)
        async with writing(self._engine) as conn:
            await insert(conn, notifications, now, poll_id)

    async def fetch_due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Pending messages whose next attempt is due, oldest first."""
        aware(now)
        query = (
            sa.select(outbox_t)
            .where(outbox_t.c.status == OutboxStatus.PENDING.value, outbox_t.c.next_attempt_at <= now)
            .order_by(outbox_t.c.id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def count_pending(self) -> int:
        """How many messages wait to be sent: due now or retried later, not yet sent or given up."""
        query = sa.select(sa.func.count()).select_from(outbox_t).where(outbox_t.c.status == OutboxStatus.PENDING.value)
        async with reading(self._engine) as conn:
            return int((await conn.execute(query)).scalar_one())

    async def get(self, message_id: int) -> OutboxMessage | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(sa.select(outbox_t).where(outbox_t.c.id == message_id))).first()
            return None if row is None else _from_row(row)

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        """Record a delivery."""
        aware(now)
        await self._update(
            message_id, status=OutboxStatus.SENT.value, sent_at=now, attempts=outbox_t.c.attempts + 1, last_error=None
        )

    async def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried at ``retry_at``, or given up for good when it is None."""
        status = OutboxStatus.FAILED if retry_at is None else OutboxStatus.PENDING
        if retry_at is not None:
            aware(retry_at, "retry_at")
        await self._update(
            message_id,
            status=status.value,
            next_attempt_at=retry_at,
            attempts=outbox_t.c.attempts + 1,
            last_error=error,
        )

    async def _update(self, message_id: int, **values: Any) -> None:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                sa.update(outbox_t)
                .where(outbox_t.c.id == message_id, outbox_t.c.status == OutboxStatus.PENDING.value)
                .values(**values)
            )
            if result.rowcount != 1:
                raise StoreError(f"outbox message {message_id} does not exist or is no longer pending")


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
    )
