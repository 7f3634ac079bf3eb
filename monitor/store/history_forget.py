"""Forgetting history rows no kept snapshot needs: the one deletion pruning and the tiers' compaction share.

A state row of an entity at poll p is needed by the snapshot of a kept poll k >= p only while no newer state row
of the entity is at or before k; a window row likewise per (entity, window). So with ``keep`` the first poll kept
after a span of polls that are no longer kept, the rows of that span that a newer row at or before ``keep``
supersedes are not needed by any snapshot: deleting them changes no kept snapshot.

The statements seek the primary keys: ``sid IN (...)`` (the batch's keys), ``window_id IN (...)`` (every window
the history names) and a range of polls, so a batch reads the rows of its span, not the entities' whole history.
On PostgreSQL, ``days`` (the first and last day the span's polls started on) confines both the rows and the newer
ones to those days' partitions (monitor.store.partitions): a row is stored under its poll's day or, moved out of
an expired day, a later one, never an earlier one, so the span's rows and those superseding them are all there
(a moved row is older than any such span, so it neither is nor supersedes one of its rows).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.history import keys_t, metrics_t, names_t, states_t
from monitor.store.history_codec import WINDOW
from monitor.store.partitions import with_day


async def forget_superseded(
    conn: AsyncConnection,
    advertiser_id: str,
    keep: int,
    *,
    after: int | None = None,
    sids: tuple[int, int] | None = None,
    days: tuple[date, date] | None = None,
) -> int:
    """Delete the advertiser's history rows of polls before ``keep`` (and after ``after``, when given) that a
    newer row no newer than ``keep`` supersedes; only entities with ``sids[0] <= sid < sids[1]`` when given (a
    batch); only rows stored under ``days`` (PostgreSQL, see the module docstring) when given. Returns how many
    rows went."""
    owned = sa.select(keys_t.c.sid).where(keys_t.c.advertiser_id == advertiser_id)
    if sids is not None:
        # the batch's keys by their primary key range, the advertiser checked on each: written plainly, SQLite
        # reads every key of the advertiser through its (advertiser_id, level, entity_id) index for each
        # statement (10,000 keys a statement at 10,000 ads); ``|| ''`` keeps that index out of the choice
        mine = keys_t.c.advertiser_id.concat("") == advertiser_id
        owned = sa.select(keys_t.c.sid).where(keys_t.c.sid >= sids[0], keys_t.c.sid < sids[1], mine)
    windows = sa.select(names_t.c.id).where(names_t.c.kind == WINDOW)
    deleted = 0
    for model, same in ((states_t, ("sid",)), (metrics_t, ("sid", "window_id"))):
        table = model if days is None else with_day(model)
        newer = table.alias("newer")
        around = [] if days is None else [newer.c.day >= days[0], newer.c.day <= days[1]]
        superseded = (
            sa.select(sa.literal(1))
            .where(
                *(newer.c[c] == table.c[c] for c in same),
                newer.c.poll_id > table.c.poll_id,
                newer.c.poll_id <= keep,
                *around,
            )
            .exists()
        )
        where = [table.c.sid.in_(owned), table.c.poll_id < keep, superseded]
        if days is not None:
            where += [table.c.day >= days[0], table.c.day <= days[1]]
        if model is metrics_t:
            where.append(table.c.window_id.in_(windows))
        if after is not None:
            where.append(table.c.poll_id > after)
        deleted += (await conn.execute(sa.delete(table).where(*where))).rowcount
    return deleted
