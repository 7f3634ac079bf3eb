"""Silences (:class:`monitor.domain.Silence`): rows of their own beside the holds, added, listed and expired by
``tiktok-monitor silence``, read by every poll.

The API, for the commands and for ``status``::

    silences = store.silences
    added = await silences.add(silence, now)                 # -> the Silence with its id
    await silences.list(now)                                 # pending and active ones, by start then id
    await silences.list(now, include_expired=True)           # every stored one (pruned retention after its end)
    await silences.expire(3, now, by="alice")                # ends_at = now; -> the Silence, or None: no such id
    await silences.active(now)                               # what a poll reads: those muting at now

``Silence.to_json()`` is the plain form of one (id, matchers, starts_at, ends_at, created_by, comment).
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import Matcher, Silence, aware
from monitor.store.db import reading, writing
from monitor.store.models import SilenceRow

silences_t = SilenceRow.__table__


class Silences:
    """Add, list, expire silences; read the ones active at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, silence: Silence, now: datetime) -> Silence:
        """Store ``silence`` (written at ``now``) in a transaction of its own; returns it with its id."""
        row = {
            "matchers": json.dumps([m.to_json() for m in silence.matchers]),
            "starts_at": silence.starts_at,
            "ends_at": silence.ends_at,
            "created_by": silence.created_by,
            "comment": silence.comment,
            "created_at": aware(now),
        }
        async with writing(self._engine) as conn:
            result = await conn.execute(sa.insert(silences_t).values(row).returning(silences_t.c.id))
            new_id = result.scalar_one()
        return Silence(
            silence.matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.comment, id=new_id
        )

    async def list(self, now: datetime, include_expired: bool = False) -> builtins.list[Silence]:
        """The silences not yet ended at ``now`` (pending and active), or every stored one with
        ``include_expired``; ordered by start, then id."""
        query = sa.select(silences_t).order_by(silences_t.c.starts_at, silences_t.c.id)
        if not include_expired:
            query = query.where(silences_t.c.ends_at > aware(now))
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def active(self, now: datetime) -> builtins.list[Silence]:
        """The silences muting alerts at ``now`` (started, not ended)."""
        async with reading(self._engine) as conn:
            return await active_at(conn, now)

    async def get(self, silence_id: int) -> Silence | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(sa.select(silences_t).where(silences_t.c.id == silence_id))).first()
        return None if row is None else _from_row(row)

    async def expire(self, silence_id: int, now: datetime, by: str | None = None) -> Silence | None:
        """End silence ``silence_id`` at ``now`` (ends_at = now) unless it ended already, recording ``by`` (who
        ended it) in ``expired_by``; returns it as it is then, or None when there is no such silence. A pending
        one ends before it starts: it never mutes."""
        async with writing(self._engine) as conn:
            await conn.execute(
                sa.update(silences_t)
                .where(silences_t.c.id == silence_id, silences_t.c.ends_at > aware(now))
                .values(
                    ends_at=sa.case((silences_t.c.starts_at > now, silences_t.c.starts_at), else_=now), expired_by=by
                )
            )
        return await self.get(silence_id)


async def active_at(conn: AsyncConnection, now: datetime) -> list[Silence]:
    """:meth:`Silences.active` within a transaction of the caller's."""
    silences = [_from_row(row) for row in await conn.execute(_ACTIVE, {"now": aware(now)})]
    return [s for s in silences if s.active(now)]


#: :func:`active_at`'s statement, built once: every poll runs it (monitor.store.prebuilt).
_ACTIVE = (
    sa.select(silences_t)
    .where(silences_t.c.ends_at > sa.bindparam("now", type_=silences_t.c.ends_at.type))
    .order_by(silences_t.c.starts_at, silences_t.c.id)
)


def _from_row(row: Any) -> Silence:
    matchers = tuple(Matcher(m["name"], m["value"], bool(m["is_glob"])) for m in json.loads(row.matchers))
    return Silence(
        matchers, row.starts_at, row.ends_at, row.created_by, row.comment, id=row.id, expired_by=row.expired_by
    )
