"""Holds (:class:`monitor.domain.Hold`): rows of their own, read by every poll, written in the poll's transaction.

A poll reads the live holds of its advertiser with :meth:`Holds.active` and writes the ones it makes (and ends
the ones they replace) through the poll writer (``PollWriter.save_holds`` / ``end_holds``), so a hold commits
with the poll that saw the override. ``tiktok-monitor revert`` adds its hold with :meth:`Holds.add`, in its own
transaction, under the advertiser's lease. A hold that ran out needs no write: it is no longer live, and pruning
deletes it ``retention`` after its end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import Hold, Level, aware
from monitor.store.db import reading, writing
from monitor.store.models import HoldRow
from monitor.store.values import dumps

holds_t = HoldRow.__table__


class Holds:
    """Read the live holds of an advertiser; add holds outside a poll (a revert's)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def active(self, advertiser_id: str, now: datetime) -> list[Hold]:
        """The advertiser's holds still live at ``now`` (ending after it), oldest first."""
        async with reading(self._engine) as conn:
            return await live_holds(conn, advertiser_id, now)

    async def live(self, now: datetime) -> list[Hold]:
        """Every advertiser's holds still live at ``now``, by advertiser then age (``tiktok-monitor status``)."""
        aware(now)
        query = sa.select(holds_t).where(holds_t.c.ends_at > now).order_by(holds_t.c.advertiser_id, holds_t.c.id)
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]

    async def add(self, holds: Iterable[Hold], now: datetime) -> None:
        """Store holds in a transaction of their own (one statement); ``now`` is when they were written."""
        async with writing(self._engine) as conn:
            await insert(conn, holds, aware(now))


async def live_holds(conn: AsyncConnection, advertiser_id: str, now: datetime) -> list[Hold]:
    """:meth:`Holds.active` within a transaction of the caller's."""
    aware(now)
    return [_from_row(row) for row in await conn.execute(_LIVE, {"advertiser_id": advertiser_id, "now": now})]


#: :func:`live_holds`' statement, built once: every poll runs it (monitor.store.prebuilt).
_LIVE = (
    sa.select(holds_t)
    .where(
        holds_t.c.advertiser_id == sa.bindparam("advertiser_id"),
        holds_t.c.ends_at > sa.bindparam("now", type_=holds_t.c.ends_at.type),
    )
    .order_by(holds_t.c.id)
)


def _from_row(row: Any) -> Hold:
    return Hold(
        advertiser_id=row.advertiser_id,
        key=(Level(row.level), row.entity_id),
        field=row.field,
        since=row.starts_at,
        until=row.ends_at,
        journal_id=row.journal_id,
        value=None if row.value is None else json.loads(row.value),
        by=row.created_by,
        comment=row.comment,
        id=row.id,
    )


async def insert(conn: AsyncConnection, holds: Iterable[Hold], now: datetime) -> None:
    """Insert holds: one statement for all of them."""
    rows = [
        {
            "advertiser_id": h.advertiser_id,
            "level": h.level.value,
            "entity_id": h.entity_id,
            "field": h.field,
            "starts_at": h.since,
            "ends_at": h.until,
            "created_by": h.by,
            "comment": h.comment,
            "journal_id": h.journal_id,
            "value": None if h.value is None else dumps(h.value),
            "created_at": now,
        }
        for h in holds
    ]
    if rows:
        await conn.execute(sa.insert(holds_t), rows)


async def end(conn: AsyncConnection, advertiser_id: str, ids: Iterable[int], at: datetime) -> None:
    """End the advertiser's holds ``ids`` at ``at`` (those still live then): one statement for all of them."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    await conn.execute(
        sa.update(holds_t)
        .where(holds_t.c.advertiser_id == advertiser_id, holds_t.c.id.in_(wanted), holds_t.c.ends_at > at)
        .values(ends_at=at)
    )
