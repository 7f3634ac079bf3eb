"""Reading the stored history back poll by poll, oldest first, for a backtest (``tiktok-monitor backtest``).

Every successful poll has a row in ``polls`` (``started_at`` is the poll's time, the ``now`` its rules were
evaluated at), also when nothing changed; ``snapshot_rows`` holds a row per entity only at the polls where it
changed (``present`` false: it disappeared). So the snapshot of each poll is rebuilt incrementally:

1. the *base*: the snapshot of the newest successful poll before ``since`` (the "previous" of the first poll
   replayed), rebuilt in one query the way :func:`monitor.store.snapshots.load_at` does; none when no poll is
   older (then the first poll replayed has no previous snapshot, as the daemon's first poll had none);
2. then one query streams the advertiser's history rows newer than the base in ``poll_id`` order, and each poll's
   snapshot is the previous one with that poll's rows applied (a row replaces the entity's state, or removes it).

Memory: one snapshot (and the previous one) at a time, plus the list of poll ids and times; never the history.
Pruning keeps every snapshot from the retention cutoff on complete (see :mod:`monitor.store.prune`), so a
backtest can reach back as far as ``[storage] retention``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncResult

from monitor.domain import EntityKey, EntityState, Snapshot
from monitor.store.db import reading
from monitor.store.models import PollRow, SnapshotRow
from monitor.store.snapshots import _columns, load_at, state_from_row
from monitor.store.values import PollStatus

polls_t = PollRow.__table__
rows_t = SnapshotRow.__table__
_SLICE = 2000  # history rows fetched per round trip


async def poll_times(engine: AsyncEngine, advertiser_id: str, since: datetime) -> list[tuple[int, datetime]]:
    """(id, time) of the advertiser's successful polls at or after ``since``, preceded by the newest one before
    it if there is one (the base), oldest first."""
    ok = (polls_t.c.advertiser_id == advertiser_id) & (polls_t.c.status == PollStatus.OK.value)
    async with reading(engine) as conn:
        base = (
            await conn.execute(
                sa.select(polls_t.c.id, polls_t.c.started_at)
                .where(ok, polls_t.c.started_at < since)
                .order_by(polls_t.c.id.desc())
                .limit(1)
            )
        ).first()
        rows = await conn.execute(
            sa.select(polls_t.c.id, polls_t.c.started_at)
            .where(ok, polls_t.c.started_at >= since)
            .order_by(polls_t.c.id)
        )
        found = [(row.id, row.started_at) for row in rows]
    return ([(base.id, base.started_at)] if base is not None else []) + found


async def snapshots(engine: AsyncEngine, advertiser_id: str, since: datetime) -> AsyncIterator[tuple[Snapshot, bool]]:
    """Each stored snapshot of the advertiser from ``since`` on, oldest first, as (snapshot, replayed): the base
    (the poll before ``since``, if any) comes first with ``replayed`` false; it only serves as the previous
    snapshot of the first poll replayed."""
    polls = await poll_times(engine, advertiser_id, since)
    if not polls:
        return
    first = polls[0]
    has_base = first[1] < since
    async with reading(engine) as conn:
        base = await load_at(conn, advertiser_id, *first)
        state: dict[EntityKey, EntityState] = dict(base.entities)
        yield base, not has_base
        if len(polls) == 1:
            return
        query = (
            sa.select(*_columns(rows_t), rows_t.c.poll_id, rows_t.c.present)
            .where(
                rows_t.c.advertiser_id == advertiser_id, rows_t.c.poll_id > first[0], rows_t.c.poll_id <= polls[-1][0]
            )
            .order_by(rows_t.c.poll_id)
            .execution_options(yield_per=_SLICE)
        )
        result = await conn.stream(query)
        rows = _each(result)
        pending: Any = None  # a row read ahead: it belongs to a later poll
        for poll_id, taken_at in polls[1:]:
            while True:
                if pending is None:
                    pending = await anext(rows, None)
                    if pending is None:
                        break
                if pending.poll_id > poll_id:
                    break
                _apply(state, pending)
                pending = None
            yield Snapshot(advertiser_id, poll_id, taken_at, state), True
        await result.close()


async def _each(result: AsyncResult[Any]) -> AsyncIterator[Any]:
    """The rows of ``result``, fetched ``_SLICE`` at a time (one trip to the database's thread per slice)."""
    async for part in result.partitions(_SLICE):
        for row in part:
            yield row


def _apply(state: dict[EntityKey, EntityState], row: Any) -> None:
    """One history row: the entity's new state, or its disappearance."""
    entity = state_from_row(row)
    if row.present:
        state[entity.key] = entity
    else:
        state.pop(entity.key, None)


__all__ = ["poll_times", "snapshots"]
