"""The action journal: every pause, enable or budget change, written before the API call and completed after.

:meth:`Journal.begin` commits the intent (what, on which entity, why, the state before, the state asked for)
*before* the request goes out, so a crash mid-action leaves a "pending" entry to reconcile instead of an
action nobody knows about. :meth:`Journal.finish` records the outcome and TikTok's request id. These writes are
their own transactions, not the poll's: an action that reached TikTok happened even if the poll later fails.
A cancellation (the poll deadline, a shutdown) that comes while "pending" is committed waits for the COMMIT
(:func:`commit_intents`): committed, the entries are journaled as not sent (:data:`NOT_SENT_CANCELLED`) before
the cancellation is raised, so none is left for the next poll to settle as a write interrupted before TikTok
answered, and tell as failed.

:meth:`Journal.history` filters by advertiser, rule, entity, time, status and reverted entry
(:meth:`Journal.recent_and_pending`: what a poll's act step reads, in one statement); :meth:`Journal.note`
adds a remark to a finished entry (e.g. "not confirmed by the next poll"); :meth:`Journal.lease` holds an
advertiser's poll lease for a write made outside a poll (``tiktok-monitor revert``), so it never races a poll,
renewed by a heartbeat like a poll's (see :mod:`monitor.store.lease`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.clock import Clock, SystemClock
from monitor.domain import Level, aware
from monitor.store import lease as leases
from monitor.store.commit_wait import CommitUnfinishedError, commit_to_the_end, record_limit, record_to_the_end
from monitor.store.db import reading, writing
from monitor.store.errors import StoreError
from monitor.store.models import ActionRow
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry, dumps

actions_t = ActionRow.__table__

#: What a write journaled but never sent says, when a cancellation stopped the writes before its request.
#: How the error of a write journaled and never sent begins (the circuit breaker counts no such write).
NOT_SENT = "not sent: "
NOT_SENT_CANCELLED = NOT_SENT + "cancelled before its request (the poll's deadline, a shutdown or Ctrl-C)"


class Journal:
    """Append to and read the action journal."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()  # for renewing a lease held by :meth:`lease`
        #: How long an outcome being journaled is waited for after a cancellation (monitor.store.commit_wait).
        self.record_limit = record_limit(engine)

    async def begin(self, intent: ActionIntent, now: datetime) -> JournalEntry:
        """Journal an action about to be sent ("pending"); a dry run is journaled as finished ("dry_run")."""
        aware(now)
        async with writing(self._engine) as conn:
            entry = await insert_entry(conn, intent, now)
            await commit_intents(conn, [entry], now)
        return entry

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
        self,
        *,
        advertiser_id: str | None = None,
        rule: str | None = None,
        entity_id: str | Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Collection[ActionStatus] | None = None,
        reverts: int | None = None,
        limit: int | None = 50,
        before_id: int | None = None,
    ) -> list[JournalEntry]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page); ``limit`` None: all.

        ``since`` is inclusive and ``until`` exclusive (on ``created_at``); ``entity_id`` is one id or several;
        ``reverts`` finds the entries that undo that entry.
        """
        query = sa.select(actions_t).order_by(actions_t.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        if advertiser_id is not None:
            query = query.where(actions_t.c.advertiser_id == advertiser_id)
        if rule is not None:
            query = query.where(actions_t.c.rule == rule)
        if isinstance(entity_id, str):
            query = query.where(actions_t.c.entity_id == entity_id)
        elif entity_id is not None:
            ids = sorted(set(entity_id))
            if not ids:
                return []
            query = query.where(actions_t.c.entity_id.in_(ids))
        if since is not None:
            query = query.where(actions_t.c.created_at >= aware(since, "since"))
        if until is not None:
            query = query.where(actions_t.c.created_at < aware(until, "until"))
        if statuses is not None:
            query = query.where(actions_t.c.status.in_([ActionStatus(s).value for s in statuses]))
        if reverts is not None:
            query = query.where(actions_t.c.reverts == reverts)
        if before_id is not None:
            query = query.where(actions_t.c.id < before_id)
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def recent_and_pending(self, advertiser_id: str, since: datetime) -> list[JournalEntry]:
        """The advertiser's entries created at or after ``since`` and its pending ones (whenever created), newest
        first, in one statement: what a poll's act step starts from (``history(since=...)`` and
        ``history(statuses=[PENDING])`` together)."""
        values = {"advertiser_id": advertiser_id, "since": aware(since, "since")}
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(_RECENT_AND_PENDING, values)]

    async def note(self, entry_id: int, text: str) -> JournalEntry:
        """Add a remark to an entry (kept in ``error``, after what is there); the same remark is added once."""
        async with writing(self._engine) as conn:
            row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).first()
            if row is None:
                raise StoreError(f"journal entry {entry_id} does not exist")
            if text not in (row.error or ""):
                error = f"{row.error}; {text}" if row.error else text
                await conn.execute(sa.update(actions_t).where(actions_t.c.id == entry_id).values(error=error))
            row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).one()
        return _from_row(row)

    @asynccontextmanager
    async def lease(self, advertiser_id: str, owner: str, now: datetime, ttl: timedelta) -> AsyncIterator[None]:
        """Hold the advertiser's poll lease around the block (raises ``LeaseHeldError`` while a poll runs), so
        a write made outside a poll never races one. The advertiser must be known to the store. A heartbeat
        renews the lease every ``ttl / 3`` while the block runs."""
        aware(now)
        async with writing(self._engine) as conn:
            token = await leases.take(conn, advertiser_id, owner, now, ttl)
        heartbeat = leases.Heartbeat(self._engine, advertiser_id, token, ttl, self._clock.now)
        heartbeat.start()
        try:
            yield
        finally:
            await heartbeat.stop()
            async with writing(self._engine) as conn:
                await leases.release(conn, advertiser_id, token)


async def insert_entry(conn: AsyncConnection, intent: ActionIntent, now: datetime) -> JournalEntry:
    """:meth:`Journal.begin` inside the caller's transaction (the circuit breaker journals the writes it admits
    in the transaction that counted them)."""
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
        "approved_by": intent.approved_by,
        "before": dumps(intent.before),
        "after": dumps(intent.after),
        "status": status.value,
    }
    entry_id = (await conn.execute(sa.insert(actions_t).values(values).returning(actions_t.c.id))).scalar_one()
    row = (await conn.execute(sa.select(actions_t).where(actions_t.c.id == entry_id))).one()
    return _from_row(row)


async def commit_intents(conn: AsyncConnection, entries: Sequence[JournalEntry], now: datetime) -> None:
    """Commit the caller's transaction, which journaled ``entries`` before their requests go out. A cancellation
    that comes meanwhile is raised once the COMMIT has ended; when it committed, the pending entries are journaled
    as not sent first (see the module docstring)."""
    limit = record_limit(conn.engine)
    try:
        cancelled = await commit_to_the_end(conn, limit)
    except CommitUnfinishedError as exc:  # let go: whether they were journaled is unknown (the next poll settles)
        raise asyncio.CancelledError(str(exc)) from None
    if cancelled:
        if entries:
            await record_to_the_end(_not_sent(conn.engine, [e.id for e in entries], now), limit)
        raise asyncio.CancelledError


async def _not_sent(engine: AsyncEngine, entry_ids: Sequence[int], now: datetime) -> None:
    async with writing(engine) as conn:
        await conn.execute(
            sa.update(actions_t)
            .where(actions_t.c.id.in_(entry_ids), actions_t.c.status == ActionStatus.PENDING.value)
            .values(status=ActionStatus.FAILED.value, finished_at=now, error=NOT_SENT_CANCELLED)
        )


#: :meth:`Journal.recent_and_pending`'s statement, built once: every poll's act step runs it (monitor.store.prebuilt).
_RECENT_AND_PENDING = (
    sa.select(actions_t)
    .where(
        actions_t.c.advertiser_id == sa.bindparam("advertiser_id"),
        sa.or_(
            actions_t.c.created_at >= sa.bindparam("since", type_=actions_t.c.created_at.type),
            actions_t.c.status == ActionStatus.PENDING.value,
        ),
    )
    .order_by(actions_t.c.id.desc())
)


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
        approved_by=row.approved_by,
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
