"""The actions' circuit breaker in the database: its episodes, and the count of real writes it limits.

The count lives in the journal: the entries of the last ``window`` that are real writes (not dry runs, nor
writes journaled and never sent: ``journal.NOT_SENT``) made by rules (not reverts), written by any process sharing
the database. The breaker's state is the newest row of
``breaker_episodes`` (see :class:`monitor.domain.BreakerEpisode`).

**Atomic check-and-record.** :meth:`BreakerEpisodes.admit` reads the newest episode, counts the writes, lets the
caller's pure ``judge`` decide, journals the admitted writes as pending and opens (or extends) an episode, all in
one write transaction that no two processes run at once: on SQLite the write transaction begins with ``BEGIN
IMMEDIATE`` (one writer per database file), on PostgreSQL its first statement takes a transaction-level advisory
lock (released by the commit) and every later statement, at READ COMMITTED, sees what the previous holder
committed. Two replicas can therefore never both pass the last write the window allows. The API calls happen
after the commit: the lock is held for a few statements, never across a request. A cancellation that comes while
it commits is raised once the COMMIT has ended, the writes journaled as not sent (``journal.commit_intents``).
:meth:`resume` and :meth:`tell_once` take the same lock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import BreakerEpisode, aware
from monitor.domain.breaker import counted_from
from monitor.store import journal, outbox
from monitor.store.db import reading, writing
from monitor.store.models import ActionRow, BreakerRow
from monitor.store.values import ActionIntent, JournalEntry, Notification

episodes_t = BreakerRow.__table__
actions_t = ActionRow.__table__

#: PostgreSQL advisory lock key serializing the breaker's check-and-record ("tiktokbr").
_BREAKER_LOCK = 0x74696B746F6B6272


@dataclass(frozen=True)
class Admission:
    """What a judge decided: the ``writes`` to journal (pending, in this order), and, when writes were held back,
    their descriptions (``held``) and ``opens``, the reason of the episode this opens (None: the breaker was open
    already, or nothing was held back)."""

    writes: tuple[ActionIntent, ...] = ()
    held: tuple[str, ...] = ()
    opens: str | None = None


@dataclass(frozen=True)
class BreakerStatus:
    """The breaker at one moment: the newest episode (as of then; None: it never opened), and the real writes
    counted now (those since :func:`~monitor.domain.breaker.counted_from`)."""

    episode: BreakerEpisode | None
    writes: int
    counted_from: datetime

    @property
    def is_open(self) -> bool:
        return self.episode is not None and self.episode.is_open


#: ``judge(open_episode_or_None, writes_counted) -> Admission``: pure, called inside the transaction.
Judge = Callable[[BreakerEpisode | None, int], Admission]


class BreakerEpisodes:
    """The breaker's episodes and its count of writes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def status(self, now: datetime, window: timedelta, reset: timedelta) -> BreakerStatus:
        """The breaker at ``now`` (read only: an episode that ran out is shown closed, and closed for good by
        the next write transaction)."""
        aware(now)
        async with reading(self._engine) as conn:
            return await _status(conn, now, window, reset)

    async def episodes(self, limit: int = 20) -> list[BreakerEpisode]:
        """The newest episodes first, as stored."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(sa.select(episodes_t).order_by(episodes_t.c.id.desc()).limit(limit))
            return [_from_row(row) for row in rows]

    async def admit(self, now: datetime, window: timedelta, reset: timedelta, judge: Judge) -> list[JournalEntry]:
        """Check and record, atomically (see the module docstring): ``judge`` gets the open episode (None:
        closed) and the writes counted at ``now``; its writes are journaled as pending at ``now`` and returned in
        order; what it held back opens an episode or is added to the open one."""
        aware(now)
        async with writing(self._engine) as conn:
            await _lock(conn)
            status = await _status(conn, now, window, reset, settle=True)
            episode = status.episode if status.is_open else None
            admission = judge(episode, status.writes)
            entries = [await journal.insert_entry(conn, intent, now) for intent in admission.writes]
            if episode is not None and admission.held:
                await _update(conn, episode.holding(admission.held))
            elif admission.opens is not None:
                opened = BreakerEpisode(now, admission.opens).holding(admission.held)
                await conn.execute(sa.insert(episodes_t).values(_to_row(opened)))
            await journal.commit_intents(conn, entries, now)  # cancelled meanwhile: journaled as not sent
        return entries

    async def resume(self, now: datetime, by: str, reset: timedelta) -> BreakerEpisode | None:
        """Close the open episode, by ``by``, at ``now``; return it closed (None: the breaker was not open)."""
        aware(now)
        async with writing(self._engine) as conn:
            await _lock(conn)
            newest = await _settled(conn, now, reset)
            if newest is None or not newest.is_open:
                return None
            closed = dataclasses.replace(newest, closed_at=now, closed_by=by)
            await _update(conn, closed)
            return closed

    async def tell_once(
        self,
        now: datetime,
        reset: timedelta,
        compose: Callable[[BreakerEpisode], Iterable[Notification]],
        after: timedelta = timedelta(0),
    ) -> BreakerEpisode | None:
        """If the breaker has been open for ``after`` and nobody was told yet: ``compose`` its messages, queue
        them and mark the episode told, in one transaction (so every replica's sender tells it once in all).
        Returns the episode told (None: nothing to tell yet)."""
        aware(now)
        async with writing(self._engine) as conn:
            await _lock(conn)
            newest = await _settled(conn, now, reset)
            if newest is None or not newest.is_open or newest.told_at is not None or now < newest.opened_at + after:
                return None
            await outbox.insert(conn, list(compose(newest)), now, None)
            told = dataclasses.replace(newest, told_at=now)
            await _update(conn, told)
            return told


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BREAKER_LOCK})


async def _newest(conn: AsyncConnection) -> BreakerEpisode | None:
    row = (await conn.execute(sa.select(episodes_t).order_by(episodes_t.c.id.desc()).limit(1))).first()
    return None if row is None else _from_row(row)


async def _settled(conn: AsyncConnection, now: datetime, reset: timedelta) -> BreakerEpisode | None:
    """The newest episode as of ``now``; one that ran out is closed in the database too (in a write
    transaction)."""
    stored = await _newest(conn)
    if stored is None:
        return None
    current = stored.as_of(now, reset)
    if current != stored:
        await _update(conn, current)
    return current


async def _status(
    conn: AsyncConnection, now: datetime, window: timedelta, reset: timedelta, *, settle: bool = False
) -> BreakerStatus:
    if settle:
        newest = await _settled(conn, now, reset)
    else:
        stored = await _newest(conn)
        newest = None if stored is None else stored.as_of(now, reset)
    since = counted_from(newest, now, window)
    query = (
        sa.select(sa.func.count())
        .select_from(actions_t)
        .where(
            actions_t.c.created_at >= since,
            actions_t.c.dry_run == sa.false(),
            actions_t.c.reverts.is_(None),
            # journaled, then never sent (a cancellation or a refused token before the request): no write
            sa.or_(
                actions_t.c.error.is_(None), sa.not_(actions_t.c.error.startswith(journal.NOT_SENT, autoescape=True))
            ),
        )
    )
    writes = int((await conn.execute(query)).scalar_one())
    return BreakerStatus(newest, writes, since)


async def _update(conn: AsyncConnection, episode: BreakerEpisode) -> None:
    await conn.execute(sa.update(episodes_t).where(episodes_t.c.id == episode.id).values(_to_row(episode)))


def _to_row(episode: BreakerEpisode) -> dict[str, Any]:
    return {
        "opened_at": episode.opened_at,
        "reason": episode.reason,
        "held": json.dumps(list(episode.held)),
        "held_count": episode.held_count,
        "told_at": episode.told_at,
        "closed_at": episode.closed_at,
        "closed_by": episode.closed_by,
    }


def _from_row(row: Any) -> BreakerEpisode:
    return BreakerEpisode(
        opened_at=row.opened_at,
        reason=row.reason,
        held=tuple(json.loads(row.held)),
        held_count=row.held_count,
        told_at=row.told_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        id=row.id,
    )
