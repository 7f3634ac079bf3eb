"""Retention's last step for one advertiser: entities absent from every kept snapshot go with their history.

An entity is *gone* when its row says it is not present and its newest history row is at or before the first kept
poll: no kept snapshot shows it. Its keys are read first (one read, on the entities' primary key); then they go in
batches sized by a :class:`~monitor.store.compact.Budget`, one short write transaction each, so a poll waiting for
the write lock waits for one batch, not for the advertiser (issue 22: one transaction over every gone entity of a
10,000-ad advertiser held the lock 153 ms). Each batch checks again, inside its transaction, that its entities are
still gone (on PostgreSQL locking their rows): one a poll brought back between the read and the batch keeps its
history.

A poll that read its previous snapshot before a batch, and brings back an entity the batch forgot, commits: a poll
holds the keys of its previous snapshot's entities only (read with it, monitor.store.lean: present ones, never a
gone one's), and an entity it brings back appears in it, whose key it looks up again inside its write transaction,
made anew if a batch forgot it (:func:`monitor.store.history.ensure_sids`; a first poll, which holds every key of
the advertiser, looks up each of its entities' keys again). On PostgreSQL the poll's upsert of the entity's row
waits for a batch that locked it, so the key is looked up after that batch committed. The entity's history starts
again at that poll, under one key (``entity_keys`` is unique per entity; SQLite may give it the forgotten key's
number again, whose rows went with it): tests/store/test_forget_gone_race.py.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.compact import Budget
from monitor.store.db import reading
from monitor.store.history import keys_t, metrics_t, states_t
from monitor.store.holding import holding
from monitor.store.models import EntityRow

entities_t = EntityRow.__table__
KIND = "prune-gone"
MOST = 500  # keys per batch at most: each is a bound parameter of the IN lists


def _gone_keys(advertiser_id: str, keep_from: int) -> sa.Select[tuple[int, str, str]]:
    """The (sid, level, entity_id) of the advertiser's gone entities (module docstring)."""
    return (
        sa.select(keys_t.c.sid, keys_t.c.level, keys_t.c.entity_id)
        .join(
            entities_t,
            (entities_t.c.advertiser_id == keys_t.c.advertiser_id)
            & (entities_t.c.level == keys_t.c.level)
            & (entities_t.c.entity_id == keys_t.c.entity_id),
        )
        .where(
            keys_t.c.advertiser_id == advertiser_id,
            entities_t.c.present.is_(False),
            entities_t.c.changed_poll <= keep_from,
        )
    )


async def gone_sids(conn: AsyncConnection, advertiser_id: str, keep_from: int) -> list[int]:
    """The history keys of the advertiser's entities that are gone as of ``keep_from``, in order."""
    query = _gone_keys(advertiser_id, keep_from).order_by(keys_t.c.sid)
    return [row.sid for row in await conn.execute(query)]


async def forget_batch(conn: AsyncConnection, advertiser_id: str, keep_from: int, sids: list[int]) -> tuple[int, int]:
    """Delete the history, keys and entity rows of those of ``sids`` that are still gone; (history rows,
    entities) deleted. The keys are read by their primary key (``|| ''`` keeps SQLite off the advertiser's index),
    then their entity rows by theirs (joined in one statement, SQLite read every entity of the advertiser for each
    batch). On PostgreSQL the entity rows are locked
    (``FOR UPDATE``): a poll bringing one back waits for this batch, or this batch sees it back (SQLite's write
    lock already serializes the two)."""
    keys = (
        await conn.execute(
            sa.select(keys_t.c.sid, keys_t.c.level, keys_t.c.entity_id).where(
                keys_t.c.sid.in_(sids),
                keys_t.c.advertiser_id.concat("") == advertiser_id,  # by sid: see below
            )
        )
    ).all()
    gone: list[tuple[int, str, str]] = []
    for level in {row.level for row in keys}:
        sid_of = {row.entity_id: row.sid for row in keys if row.level == level}
        still = (
            await conn.execute(
                sa.select(entities_t.c.entity_id)
                .where(
                    entities_t.c.advertiser_id == advertiser_id,
                    entities_t.c.level == level,
                    entities_t.c.entity_id.in_(list(sid_of)),
                    entities_t.c.present.is_(False),
                    entities_t.c.changed_poll <= keep_from,
                )
                .with_for_update()
            )
        ).scalars()
        gone += [(sid_of[entity_id], level, entity_id) for entity_id in still]
    if not gone:
        return 0, 0
    mine = [sid for sid, _, _ in gone]
    history = 0
    for table in (states_t, metrics_t):
        history += (await conn.execute(sa.delete(table).where(table.c.sid.in_(mine)))).rowcount
    await conn.execute(sa.delete(keys_t).where(keys_t.c.sid.in_(mine)))
    entities = 0
    for level in {level for _, level, _ in gone}:
        ids = [entity_id for _, of, entity_id in gone if of == level]
        where = (entities_t.c.advertiser_id == advertiser_id) & (entities_t.c.level == level)
        entities += (await conn.execute(sa.delete(entities_t).where(where, entities_t.c.entity_id.in_(ids)))).rowcount
    return history, entities


async def forget_gone(engine: AsyncEngine, advertiser_id: str, keep_from: int, budget: Budget) -> tuple[int, int]:
    """Forget every gone entity of the advertiser, batch by batch (module docstring); (history rows, entities)."""
    async with reading(engine) as conn:
        sids = await gone_sids(conn, advertiser_id, keep_from)
    history = entities = 0
    start = 0
    while start < len(sids):
        batch = sids[start : start + min(MOST, budget.size_of(KIND))]
        async with holding(engine) as conn:
            began = time.perf_counter()  # the write lock is ours from here
            counts = await forget_batch(conn, advertiser_id, keep_from, batch)
        budget.record(time.perf_counter() - began, KIND, done=len(batch))
        history, entities = history + counts[0], entities + counts[1]
        start += len(batch)
        await budget.turn()
    return history, entities
