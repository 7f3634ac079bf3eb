"""Reading the stored history back poll by poll, oldest first, for a backtest (``tiktok-monitor backtest``).

Every successful poll has a row in ``polls`` (``started_at`` is the poll's time, the ``now`` its rules were
evaluated at), also when nothing changed; the history (monitor.store.history_codec) holds rows of an entity only
at the polls where its state or a window's values changed. So the snapshot of each poll is rebuilt incrementally:

1. the *base*: the snapshot of the newest successful poll before ``since`` (the "previous" of the first poll
   replayed), rebuilt the way :func:`monitor.store.history_read.load_at` does; none when no poll is
   older (then the first poll replayed has no previous snapshot, as the daemon's first poll had none);
2. then one query streams the advertiser's history rows newer than the base in ``poll_id`` order, and each poll's
   snapshot is the previous one with that poll's rows applied (the entities they touch are rebuilt, or removed).

Older history is kept at a coarser resolution (monitor.store.tiers: one poll per hour, then per day): only the
polls kept have a ``polls`` row, so a backtest over that time sees one snapshot per hour (or day);
:func:`resolutions` says which.

Memory: one snapshot (and the previous one) at a time, plus the list of poll ids and times; never the history.
Pruning keeps every snapshot from the retention cutoff on complete (see :mod:`monitor.store.prune`), so a
backtest can reach back as far as ``[storage] retention``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.store.db import reading
from monitor.store.history_read import Assembler, assemble_at, rows_between
from monitor.store.models import PollRow
from monitor.store.values import PollStatus

polls_t = PollRow.__table__


async def poll_times(engine: AsyncEngine, advertiser_id: str, since: datetime) -> list[tuple[int, datetime]]:
    """(id, time) of the advertiser's successful polls at or after ``since``, preceded by the newest one before
    it if there is one (the base), oldest first."""
    return [(poll_id, taken_at) for poll_id, taken_at, _ in await _polls(engine, advertiser_id, since)]


async def _polls(engine: AsyncEngine, advertiser_id: str, since: datetime) -> list[tuple[int, datetime, ChangedBy]]:
    """:func:`poll_times` with each poll's ``changed_by`` (who changed which entity, as that poll read it)."""
    ok = (polls_t.c.advertiser_id == advertiser_id) & (polls_t.c.status == PollStatus.OK.value)
    columns = (polls_t.c.id, polls_t.c.started_at, polls_t.c.changed_by)
    async with reading(engine) as conn:
        base = (
            await conn.execute(
                sa.select(*columns).where(ok, polls_t.c.started_at < since).order_by(polls_t.c.id.desc()).limit(1)
            )
        ).first()
        rows = await conn.execute(sa.select(*columns).where(ok, polls_t.c.started_at >= since).order_by(polls_t.c.id))
        found = [*([base] if base is not None else []), *rows]
    return [(row.id, row.started_at, _changed_by(row.changed_by)) for row in found]


#: Who changed which entity in one poll.
ChangedBy = dict[EntityKey, str]


def _changed_by(value: str | None) -> ChangedBy:
    return {(Level(level), entity_id): who for level, entity_id, who in json.loads(value)} if value else {}


def _as_polled(advertiser_id: str, poll_id: int, taken_at: datetime, state: dict[EntityKey, EntityState],
               by: ChangedBy) -> Snapshot:  # fmt: skip
    """The poll's snapshot with its entities' ``changed_by`` as the poll read it (``state`` itself unchanged: the
    next poll's snapshot is built from it, and ``changed_by`` holds for one poll only)."""
    if not by:
        return Snapshot(advertiser_id, poll_id, taken_at, state)
    entities = dict(state)
    for key, who in by.items():
        if key in entities:
            entities[key] = entities[key].with_changed_by(who)
    return Snapshot(advertiser_id, poll_id, taken_at, entities)


async def snapshots(engine: AsyncEngine, advertiser_id: str, since: datetime) -> AsyncIterator[tuple[Snapshot, bool]]:
    """Each stored snapshot of the advertiser from ``since`` on, oldest first, as (snapshot, replayed): the base
    (the poll before ``since``, if any) comes first with ``replayed`` false; it only serves as the previous
    snapshot of the first poll replayed."""
    polls = await _polls(engine, advertiser_id, since)
    if not polls:
        return
    first = polls[0]
    has_base = first[1] < since
    async with reading(engine) as conn:
        found = await assemble_at(conn, advertiser_id, first[0])
        state: dict[EntityKey, EntityState] = found.entities()
        yield _as_polled(advertiser_id, first[0], first[1], state, first[2]), not has_base
        if len(polls) == 1:
            return
        rows = rows_between(conn, advertiser_id, first[0], polls[-1][0])
        pending: Any = None  # a row read ahead: it belongs to a later poll
        for poll_id, taken_at, by in polls[1:]:
            touched: set[int] = set()
            while True:
                if pending is None:
                    pending = await anext(rows, None)
                    if pending is None:
                        break
                if pending.poll_id > poll_id:
                    break
                (found.apply_window if pending.kind else found.apply_state)(pending)
                touched.add(pending.sid)
                pending = None
            for sid in touched:
                _update(state, found, sid)
            yield _as_polled(advertiser_id, poll_id, taken_at, state, by), True
        await rows.aclose()


def _update(state: dict[EntityKey, EntityState], found: Assembler, sid: int) -> None:
    """The entity's new state after its rows of one poll, or its disappearance."""
    entity = found.entity(sid)
    if entity is not None:
        state[entity.key] = entity
    else:
        key = found.keys[sid]
        state.pop((key.level, key.entity_id), None)


async def tiers_since(engine: AsyncEngine, advertiser_id: str, since: datetime) -> set[int]:
    """The tiers (monitor.store.tiers) of the advertiser's kept polls at or after ``since``: the resolutions a
    backtest from ``since`` replays."""
    ok = (polls_t.c.advertiser_id == advertiser_id) & (polls_t.c.status == PollStatus.OK.value)
    async with reading(engine) as conn:
        rows = await conn.execute(sa.select(polls_t.c.tier).distinct().where(ok, polls_t.c.started_at >= since))
        return set(rows.scalars())


__all__ = ["poll_times", "snapshots", "tiers_since"]
