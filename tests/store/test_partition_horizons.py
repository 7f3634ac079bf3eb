"""PostgreSQL: a day's horizon (monitor.store.partition_rewrite) is kept in its partition's comment, so a restarted
process (or another replica) waits only for what is older than the day's deletes, not for what began after them;
and one day held back does not hold back another: each is rewritten and marked as soon as its own deletes are
free, whichever comes first."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.clock import FrozenClock
from monitor.store import Store, compact, partition_rewrite
from monitor.store.partitions import utc_day
from monitor.store.tiers import DAILY, HOURLY

from .conftest import BACKENDS, T0, Database, state
from .test_partition_rewrite import (
    DAY,
    FIRST,
    HOUR,
    LATER,
    PART,
    TIERS,
    a_day_of_polls,
    compacted,
    horizon_in,
    size_and_comment,
)
from .test_partitions import name, poll

SECOND = FIRST + DAY
PART2 = name(utc_day(SECOND), "history_metrics")


async def a_snapshot(store: Store) -> AsyncConnection:
    """A long read (a backtest, say) begun now: its snapshot holds back the cleanup of every later delete."""
    reader = await store.engine.connect()
    reader = await reader.execution_options(isolation_level="REPEATABLE READ")
    await reader.execute(sa.text("SELECT count(*) FROM polls"))
    return reader


async def ended(reader: AsyncConnection) -> None:
    await reader.rollback()
    await reader.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_restarted_process_does_not_wait_for_a_snapshot_begun_after_the_days_deletes(
    database: Database,
) -> None:
    first = await database.open(FrozenClock(T0), tiers=TIERS)
    second: Store | None = None
    try:
        older = await a_snapshot(first)  # began before compaction: it holds the day back
        before = await compacted(first)
        done = await partition_rewrite.rewrite_compacted(first.engine, TIERS, LATER, wait=0)
        assert PART in done.deferred
        horizon = horizon_in((await size_and_comment(first))[1])
        await ended(older)
        await first.close()  # the process stops

        second = await database.open(FrozenClock(T0), tiers=TIERS)  # and starts again
        newer = await a_snapshot(second)  # began after the day's deletes, before the restarted process's run
        await poll(second, LATER, state("a0"))  # polls go on: a horizon taken now would be newer than the snapshot
        try:
            assert horizon_in((await size_and_comment(second))[1]) == horizon
            done = await partition_rewrite.rewrite_compacted(second.engine, TIERS, LATER + HOUR, wait=0)
        finally:
            await ended(newer)
        rewritten = {r.name: r for r in done.rewritten}
        assert PART not in done.deferred and rewritten[PART].after < before / 4
        assert (await size_and_comment(second)) == (rewritten[PART].after, f"compacted at tier {HOURLY}")
    finally:
        await (second or first).close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_day_held_back_by_an_older_transaction_does_not_hold_back_the_next(database: Database) -> None:
    """Both days are found due in one run (one horizon: the earlier day is tried first). A transaction begun before
    compaction that read the earlier day's partition (a backtest between two statements) keeps its lock: that day
    is deferred, the next one rewritten and marked."""
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store, FIRST)
        await a_day_of_polls(store, SECOND)
        sizes = {part: (await size_and_comment(store, part))[0] for part in (PART, PART2)}
        reader = await store.engine.connect()
        # read committed, in the simple query protocol: between its statements it keeps no snapshot (asyncpg's
        # statements would keep theirs: their portal lives until the next one), only its lock on the partition
        driver = (await reader.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"BEGIN; SELECT count(*) FROM {PART}")  # noqa: S608
        try:
            now = SECOND + DAY + HOUR  # the second day lies wholly before the hourly boundary (now - raw) too
            merged = await compact.compact(store.engine, TIERS, now, compact.Budget.for_engine(store.engine))
            assert merged.merged == 2 * (144 - 12)
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, now)  # no snapshot waited for
        finally:
            await driver.execute("ROLLBACK")
            await reader.close()
        rewritten = {r.name: r for r in done.rewritten}
        assert PART in done.deferred and PART not in rewritten
        size, comment = await size_and_comment(store, PART)
        assert size > sizes[PART] / 2 and horizon_in(comment)  # not rewritten, nor marked: its horizon kept
        assert PART2 not in done.deferred and rewritten[PART2].after < sizes[PART2] / 4
        assert (await size_and_comment(store, PART2)) == (rewritten[PART2].after, f"compacted at tier {HOURLY}")
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_snapshot_between_two_days_deletes_holds_back_only_the_later_day(database: Database) -> None:
    """The first day is found due (and held back) in one run, the second in the next; a snapshot begun between
    the first day's deletes and the second's holds back the second only."""
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        older = await a_snapshot(store)
        before = await compacted(store)  # the first day, at LATER: the second has no polls yet
        try:
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0)
        finally:
            await ended(older)
        assert PART in done.deferred
        between = await a_snapshot(store)
        try:
            await a_day_of_polls(store, SECOND)
            second = (await size_and_comment(store, PART2))[0]
            now = SECOND + DAY + HOUR  # the second day lies wholly before the hourly boundary, the first not yet
            merged = await compact.compact(store.engine, TIERS, now, compact.Budget.for_engine(store.engine))
            assert merged.merged == 144 - 12
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, now, wait=0)
        finally:
            await ended(between)
        rewritten = {r.name: r for r in done.rewritten}
        assert rewritten[PART].after < before / 4 and PART not in done.deferred
        assert (await size_and_comment(store, PART)) == (rewritten[PART].after, f"compacted at tier {HOURLY}")
        assert PART2 in done.deferred and PART2 not in rewritten
        size, comment = await size_and_comment(store, PART2)
        assert size > second / 2 and horizon_in(comment)
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_day_marked_as_before_keeps_its_mark_beside_its_horizon_for_the_next_tier(database: Database) -> None:
    """A comment with the mark alone (``compacted at tier 1``, as every version writes it after a rewrite and
    migration 0015 for the days it converts) is read as before; the horizon for the daily tier is written
    before it and goes with the rewrite."""
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await compacted(store)
        done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER)  # nothing of ours holds it
        assert PART in {r.name for r in done.rewritten}
        assert (await size_and_comment(store))[1] == f"compacted at tier {HOURLY}"
        daily = FIRST + DAY + TIERS.hourly + HOUR  # the day lies wholly before the daily boundary (now - hourly)
        older = await a_snapshot(store)
        try:
            merged = await compact.compact(store.engine, TIERS, daily, compact.Budget.for_engine(store.engine))
            assert merged.merged == 12 - 1
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, daily, wait=0)
        finally:
            await ended(older)
        assert PART in done.deferred
        comment = (await size_and_comment(store))[1] or ""
        found = re.fullmatch(rf"horizon (\d+) for tier {DAILY}; compacted at tier {HOURLY}", comment)
        assert found is not None, comment
        done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, daily + HOUR)
        assert {r.name: r.tier for r in done.rewritten}[PART] == DAILY
        assert (await size_and_comment(store))[1] == f"compacted at tier {DAILY}"
    finally:
        await store.close()
