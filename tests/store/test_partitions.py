"""PostgreSQL keeps the history partitioned by day (migration 0015, monitor.store.partitions): a poll on a new day
writes into that day's partition, made for it; expired days go as whole partitions while every kept snapshot
reads the same; two stores starting a new day at once both commit; a poll whose partition could not be made
lands in the default partition, and maintenance moves it into its day's (a day compaction is done with is
rewritten to its kept rows: test_partition_rewrite). On both backends, pruning a random history day by day keeps every later snapshot."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.clock import FrozenClock
from monitor.domain import EntityState
from monitor.store import Store
from monitor.store import prune as pruning
from monitor.store.partitions import LOCK_KEY, utc_day

from .conftest import ADV, BACKENDS, T0, Database, state
from .histories import histories

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OTHER = "7000000000000000002"
THIRD = "7000000000000000003"


async def partitions_of(store: Store, table: str = "history_states") -> dict[str, int]:
    """The table's partitions (from the catalog) and the rows each holds."""
    async with store.engine.connect() as conn:
        names = (
            await conn.execute(
                sa.text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY 1"
                ),
                {"t": table},
            )
        ).scalars()
        out = {}
        for name in list(names):
            out[name] = (await conn.execute(sa.text(f"SELECT count(*) FROM {name}"))).scalar_one()  # noqa: S608
        await conn.rollback()
    return out


def name(day: date, table: str = "history_states") -> str:
    return f"{table}_p{day:%Y%m%d}"


async def poll(store: Store, at: Any, *states: EntityState, advertiser_id: str = ADV) -> int:
    async with store.poll(advertiser_id, at) as writer:
        writer.save(states)
    return writer.poll_id


def ads(n: int, day: int, advertiser_id: str = ADV) -> list[EntityState]:
    """n ads, the first half of them never changing, the others spending more each day."""
    out = []
    for i in range(n):
        spend = 1.0 if i < n // 2 else float(day * 10 + i)
        out.append(state(f"a{i}", advertiser_id=advertiser_id, metrics={"today": {"spend": spend}}))
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_poll_on_a_new_day_writes_into_that_days_partition(database: Database) -> None:
    store = await database.open(FrozenClock(T0))
    try:
        await poll(store, T0, *ads(4, 0))
        tomorrow = T0 + DAY
        second = await poll(store, tomorrow, *ads(4, 1))
        for table in ("history_states", "history_metrics"):
            found = await partitions_of(store, table)
            assert name(utc_day(tomorrow), table) in found and found[f"{table}_default"] == 0
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                sa.text(f"SELECT count(*) FROM {name(utc_day(tomorrow), 'history_metrics')} WHERE poll_id = :p"),  # noqa: S608
                {"p": second},
            )
            assert rows.scalar_one() == 2  # the two ads whose spend moved
        snapshot = await store.snapshot(ADV, second)
        assert snapshot is not None and dict(snapshot.entities) == {s.key: s for s in ads(4, 1)}
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_expired_days_are_dropped_whole_and_kept_snapshots_read_the_same(database: Database) -> None:
    store = await database.open(FrozenClock(T0))
    try:
        polls = [await poll(store, T0 + n * DAY, *ads(6, n)) for n in range(6)]
        # another advertiser polled last on the first day: its newest snapshot is kept whatever its age
        stale = await poll(store, T0 + HOUR, *ads(2, 0, OTHER), advertiser_id=OTHER)
        # and one added on day 4: its first kept poll is on another day than the others' (another group)
        late = await poll(store, T0 + 4 * DAY + HOUR, *ads(2, 0, THIRD), advertiser_id=THIRD)
        old_late = await store.snapshot(THIRD, late)
        cutoff = T0 + 3 * DAY - HOUR  # days 0, 1 and 2 lie wholly before the cutoff's day
        kept = {p: await store.snapshot(ADV, p) for p in polls[3:]}
        old_stale = await store.snapshot(OTHER, stale)
        before = await partitions_of(store)

        report = await pruning.prune(store.engine, cutoff)

        after = await partitions_of(store)
        expired = [name(utc_day(T0 + n * DAY)) for n in range(3)]
        assert report.days_dropped == 3 and not set(expired) & set(after)
        for p, snapshot in kept.items():
            assert await store.snapshot(ADV, p) == snapshot
        assert await store.snapshot(OTHER, stale) == old_stale
        assert await store.snapshot(THIRD, late) == old_late
        assert await store.snapshot(ADV, polls[2]) is None
        # the kept days lost no row; the newest got the rows kept snapshots still read from the dropped days
        newest = name(utc_day(T0 + 5 * DAY))
        for day in range(3, 5):
            assert after[name(utc_day(T0 + day * DAY))] == before[name(utc_day(T0 + day * DAY))]
        assert after[newest] == before[newest] + 6 + 2  # every state row: 6 unchanged ads, 2 of the stale one
        # the next run has nothing left to drop
        assert (await pruning.prune(store.engine, cutoff)).days_dropped == 0
        assert (await poll(store, T0 + 6 * DAY, *ads(6, 6))) > polls[-1]
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_two_stores_writing_the_first_poll_of_new_days_at_once_both_commit(database: Database) -> None:
    stores = [await database.open(FrozenClock(T0)) for _ in range(2)]
    try:
        for n in range(1, 6):
            at = T0 + n * DAY
            ids = await asyncio.gather(
                poll(stores[0], at, *ads(20, n)), poll(stores[1], at, *ads(20, n, OTHER), advertiser_id=OTHER)
            )
            for store, advertiser_id, poll_id in zip(stores, (ADV, OTHER), ids, strict=True):
                snapshot = await store.snapshot(advertiser_id, poll_id)
                assert snapshot is not None and len(snapshot.entities) == 20
        # a poll that found the day's partition being made (or its table busy) wrote into the default partition;
        # maintenance moved its rows into their day's
        await stores[1].maintain(T0 + 5 * DAY)
        found = await partitions_of(stores[0], "history_metrics")
        assert found["history_metrics_default"] == 0
        # each advertiser's first poll: 20 new ads; then 10 ads whose spend moved
        assert [found[name(utc_day(T0 + n * DAY), "history_metrics")] for n in range(1, 6)] == [40, 20, 20, 20, 20]
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_poll_whose_partition_is_missing_lands_in_default_and_maintenance_moves_it(
    database: Database,
) -> None:
    store = await database.open(FrozenClock(T0))
    try:
        await poll(store, T0, *ads(4, 0))
        tomorrow = T0 + DAY
        async with store.engine.connect() as holder:  # another process is making partitions (and hangs)
            await holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            second = await poll(store, tomorrow, *ads(4, 1))
            await holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            await holder.commit()
        found = await partitions_of(store, "history_metrics")
        assert name(utc_day(tomorrow), "history_metrics") not in found and found["history_metrics_default"] == 2
        expected = await store.snapshot(ADV, second)
        assert expected is not None and dict(expected.entities) == {s.key: s for s in ads(4, 1)}

        await store.maintain(tomorrow)

        for table in ("history_states", "history_metrics"):
            found = await partitions_of(store, table)
            assert found[f"{table}_default"] == 0 and name(utc_day(tomorrow), table) in found
            assert name(utc_day(tomorrow + 2 * DAY), table) in found  # made ahead
        assert (await partitions_of(store, "history_metrics"))[name(utc_day(tomorrow), "history_metrics")] == 2
        assert await store.snapshot(ADV, second) == expected
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_partitions_wait_briefly_for_a_long_reader_and_are_made_or_dropped_after_it(database: Database) -> None:
    store = await database.open(FrozenClock(T0))
    try:
        polls = [await poll(store, T0 + n * DAY, *ads(4, n)) for n in range(3)]
        async with store.engine.connect() as reader:  # a long read of the history (a backtest, say)
            await reader.execute(sa.text("LOCK TABLE history_metrics IN ACCESS SHARE MODE"))
            began = time.perf_counter()
            third = await poll(store, T0 + 3 * DAY, *ads(4, 3))  # its day's partition cannot be made now
            made = time.perf_counter() - began
            report = await pruning.prune(store.engine, T0 + 2 * DAY - HOUR)  # day 0 cannot be dropped now
            await reader.rollback()
        assert made < 2.0  # waited 100 ms for the lock, not for the reader
        assert report.days_dropped == 0
        assert (await partitions_of(store, "history_metrics"))["history_metrics_default"] == 2
        assert await store.snapshot(ADV, third) is not None

        assert (await pruning.prune(store.engine, T0 + 2 * DAY - HOUR)).days_dropped == 2
        assert name(utc_day(T0)) not in await partitions_of(store)
        assert await store.snapshot(ADV, polls[2]) is not None
    finally:
        await store.close()


async def test_pruning_day_by_day_keeps_every_later_snapshot_of_a_random_history(database: Database) -> None:
    """Renames, status changes, windows that come and go, entities that disappear and come back: on both
    backends (whole days dropped on PostgreSQL), every snapshot from the first kept poll on reads what it saw."""
    seen = histories(seed=3, polls=16)
    step = 5 * HOUR
    store = await database.open(FrozenClock(T0))
    try:
        ids = [await poll(store, T0 + n * step, *entities.values()) for n, entities in enumerate(seen)]
        for first_kept in (5, 9, 12, 15):
            await pruning.prune(store.engine, T0 + first_kept * step - HOUR)
            for n in range(first_kept, len(seen)):
                snapshot = await store.snapshot(ADV, ids[n])
                assert snapshot is not None and dict(snapshot.entities) == seen[n], (first_kept, n)
            assert await store.snapshot(ADV, ids[first_kept - 1]) is None
        if database.backend == "postgres":
            assert name(utc_day(T0)) not in await partitions_of(store)
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_poll_does_not_wait_for_an_older_days_partition_being_rewritten(database: Database) -> None:
    store = await database.open(FrozenClock(T0))
    try:
        await poll(store, T0, *ads(6, 0))
        await poll(store, T0 + DAY, *ads(6, 1))  # today's partitions exist
        async with store.engine.connect() as rewriting:  # what VACUUM FULL holds on the day it rewrites
            for table in ("history_states", "history_metrics"):
                await rewriting.execute(sa.text(f"LOCK TABLE {name(utc_day(T0), table)} IN ACCESS EXCLUSIVE MODE"))
            polled = await asyncio.wait_for(poll(store, T0 + DAY + HOUR, *ads(6, 2)), timeout=10)
            await rewriting.rollback()
        snapshot = await store.snapshot(ADV, polled)
        assert snapshot is not None and dict(snapshot.entities) == {s.key: s for s in ads(6, 2)}
    finally:
        await store.close()
