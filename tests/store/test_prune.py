"""Retention: old history goes, every kept snapshot still rebuilds exactly, the newest snapshot always stays."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from monitor.domain import EntityState
from monitor.store import Notification, Store
from monitor.store.models import EntityKeyRow, EntityRow, HistoryStateRow, PollRow

from .conftest import ADV, T0, latest_snapshot, state

HOUR = timedelta(hours=1)


async def poll_at(store: Store, hours: float, *states: EntityState, advertiser_id: str = ADV) -> int:
    async with store.poll(advertiser_id, T0 + hours * HOUR) as poll:
        poll.save(states)
    return poll.poll_id


async def count(store: Store, table: sa.Table) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def test_prune_keeps_newer_snapshots_intact_and_drops_older_ones(store: Store) -> None:
    p0 = await poll_at(store, 0, state("a1", budget=1.0), state("gone-early"), state("a2"))
    await poll_at(store, 1, state("a1", budget=2.0), state("a2"))  # gone-early disappears
    await poll_at(store, 2, state("a1", budget=3.0), state("a2"))
    p3 = await poll_at(store, 3, state("a1", budget=3.0), state("a2"), state("late"))
    p4 = await poll_at(store, 4, state("a1", budget=4.0), state("late"))  # a2 disappears
    kept = {p: await store.snapshot(ADV, p) for p in (p3, p4)}

    report = await store.prune(T0 + 4 * HOUR + 30 * 60 * timedelta(seconds=1), retention=timedelta(hours=1, minutes=30))
    assert report.cutoff == T0 + 3 * HOUR
    assert report.polls == 3
    assert report.entities == 1  # gone-early: absent from every kept snapshot
    for p, snapshot in kept.items():
        assert await store.snapshot(ADV, p) == snapshot
    assert await store.snapshot(ADV, p0) is None
    assert await store.previous_snapshot(ADV) == kept[p3]
    assert await store.previous_snapshot(ADV, before=p3) is None
    # a1 keeps its newest state row at or before p3 (budget 3.0, from poll 2) and the one of p4
    keys, states = EntityKeyRow.__table__, HistoryStateRow.__table__
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(keys.c.entity_id, states.c.budget)
                .join(keys, keys.c.sid == states.c.sid)
                .order_by(keys.c.entity_id, states.c.poll_id)
            )
        ).all()
    assert [(r.entity_id, r.budget) for r in rows if r.entity_id == "a1"] == [("a1", 3.0), ("a1", 4.0)]


async def test_the_newest_snapshot_of_an_advertiser_is_never_pruned(store: Store) -> None:
    await poll_at(store, 0, state("a1"), state("a2"))
    newest = await poll_at(store, 1, state("a1"))
    snapshot = await latest_snapshot(store, ADV)
    report = await store.prune(T0 + 1000 * HOUR, retention=timedelta(days=1))
    assert report.polls == 1
    assert await latest_snapshot(store, ADV) == snapshot
    assert await store.snapshot(ADV, newest) == snapshot
    assert await count(store, PollRow.__table__) == 1
    assert await count(store, EntityRow.__table__) == 1  # a2 disappeared before the only kept snapshot
    # and the next poll diffs against it as usual
    async with store.poll(ADV, T0 + 1001 * HOUR) as poll:
        assert poll.previous == snapshot


async def test_prune_with_nothing_old_deletes_nothing(store: Store) -> None:
    await poll_at(store, 0, state("a1"))
    await poll_at(store, 1, state("a1", budget=5.0))
    report = await store.prune(T0 + 2 * HOUR)  # default retention: 30 days
    assert (report.polls, report.history_rows, report.entities, report.outbox) == (0, 0, 0, 0)


async def test_prune_works_per_advertiser(store: Store) -> None:
    other = "7000000000000000002"
    await poll_at(store, 0, state("a1"))
    await poll_at(store, 0, state("b1", advertiser_id=other), advertiser_id=other)
    await poll_at(store, 10, state("a1", budget=1.0))
    report = await store.prune(T0 + 10 * HOUR, retention=HOUR)
    assert report.polls == 1  # ADV's first poll; the other advertiser's only poll is its newest
    assert await latest_snapshot(store, other) is not None


async def test_prune_deletes_old_delivered_outbox_messages(store: Store) -> None:
    await store.outbox.enqueue([Notification("slack", {"n": 1}), Notification("slack", {"n": 2})], T0)
    first, second = (await store.outbox.claim_due(T0, "sender", T0 + HOUR)).messages
    await store.outbox.mark_sent(first.id, T0, claimant="sender")
    report = await store.prune(T0 + 48 * HOUR, retention=timedelta(days=1))
    assert report.outbox == 1
    assert await store.outbox.get(first.id) is None
    assert await store.outbox.get(second.id) is not None  # pending: kept until delivered
