"""The action journal: every pause, enable or budget change, written before the API call and completed after.

:meth:`Journal.begin` commits the intent (what, on which entity, why, the state before, the state asked for)
*before* the request goes out, so a crash mid-action leaves a "pending" entry to reconcile instead of an
action nobody knows about. :meth:`Journal.finish` records the outcome and TikTok's request id. These writes are
their own transactions, not the poll's: an action that reached TikTok happened even if the poll later fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import reading, writing
from monitor.store.errors import StoreError
from monitor.store.models import ActionRow
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry, aware, dumps
from monitor.tiktok.models import Level

actions_t = ActionRow.__table__


class Journal:
    """Append to and read the action journal."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def begin(self, intent: ActionIntent, now: datetime) -> JournalEntry:
        """Journal an action about to be sent ("pending"); a dry run is journaled as finished ("dry_run")."""
        aware(now)
        status = ActionStatus.DRY_RUN if intent.dry_run else ActionStatus.PENDING
        values = {
            "created_at": now,
            "finished_at": now if intent.dry_run else None,
            "advertiser_id": intent.advertiser_id,
            "level": intent.level.value,
            "entity_id": intent.entity_id,
            "action": intent.action,
            "reason": intent.reason,
            "rule": intent.rule,
            "dry_run": intent.dry_run,
            "poll_id": intent.poll_id,
            "reverts": intent.reverts,
            "before": dumps(intent.before),
            "after": dumps(intent.after),
            "status": status.value,
        }
        async with writing(self._engine) as conn:
            entry_id = (await conn.execute(sa.insert(actions_t).values(values).returning(actions_t.c.id))).scalar_one()
            row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).one()
        return _from_row(row)

    async def finish(
        self,
        entry_id: int,
        now: datetime,
        status: ActionStatus,
        *,
        request_id: str | None = None,
        error: str | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        """Record how a pending action ended. ``after`` replaces the requested state with the observed one."""
        aware(now)
        if status in (ActionStatus.PENDING, ActionStatus.DRY_RUN):
            raise ValueError(f"an action finishes as succeeded or failed, not {status.value}")
        values: dict[str, Any] = {"status": status.value, "finished_at": now, "request_id": request_id, "error": error}
        if after is not None:
            values["after"] = dumps(after)
        async with writing(self._engine) as conn:
            result = await conn.execute(
                sa.update(actions_t)
                .where(actions_t.c.id == entry_id, actions_t.c.status == ActionStatus.PENDING.value)
                .values(values)
            )
            if result.rowcount != 1:
                raise StoreError(f"journal entry {entry_id} does not exist or is already finished")
            row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).one()
        return _from_row(row)

    async def get(self, entry_id: int) -> JournalEntry | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).first()
        return None if row is None else _from_row(row)

    async def history(
        self, *, advertiser_id: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[JournalEntry]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
        query = sa.select(actions_t).order_by(actions_t.c.id.desc()).limit(limit)
        if advertiser_id is not None:
            query = query.where(actions_t.c.advertiser_id == advertiser_id)
        if before_id is not None:
            query = query.where(actions_t.c.id < before_id)
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]


def _from_row(row: Any) -> JournalEntry:
    intent = ActionIntent(
        advertiser_id=row.advertiser_id,
        level=Level(row.level),
        entity_id=row.entity_id,
        action=row.action,
        reason=row.reason,
        before=json.loads(row.before),
        after=json.loads(row.after),
        rule=row.rule,
        dry_run=row.dry_run,
        poll_id=row.poll_id,
        reverts=row.reverts,
    )
    return JournalEntry(
        id=row.id,
        created_at=row.created_at,
        intent=intent,
        status=ActionStatus(row.status),
        finished_at=row.finished_at,
        request_id=row.request_id,
        error=row.error,
    )
