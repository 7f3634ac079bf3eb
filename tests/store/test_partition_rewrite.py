"""PostgreSQL: a day compaction is done with is rewritten to the size of its kept rows
(monitor.store.partition_rewrite), once per tier; a transaction older than compaction's deletes (which would make
``VACUUM FULL`` keep the deleted rows) is waited for, one still running after the wait defers the rewrite to the
next run (a warning names it), which does it; rows kept all the same leave the day unmarked; a later run waits
only for what is older than the day's deletes."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.clock import FrozenClock
from monitor.store import Store, compact, partition_horizon, partition_rewrite
from monitor.store.partitions import utc_day
from monitor.store.tiers import HOURLY, Tiers

from .conftest import ADV, BACKENDS, T0, Database, state
from .test_partitions import name, partitions_of, poll

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
TIERS = Tiers(raw=HOUR, hourly=3 * DAY, daily=10 * DAY)
FIRST = T0.replace(hour=0)
PART = name(utc_day(FIRST), "history_metrics")
LATER = FIRST + 2 * DAY  # the first day lies wholly before the hourly tier's boundary


async def a_day_of_polls(store: Store, day: datetime = FIRST) -> list[int]:
    """The whole of a UTC day: a poll every 5 minutes for 12 hours, 50 ads whose spend moves every time."""
    polls = []
    for n in range(144):
        at = day + n * 5 * timedelta(minutes=1)
        polls.append(await poll(store, at, *(state(f"a{i}", metrics={"today": {"spend": n + i}}) for i in range(50))))
    return polls


async def size_and_comment(store: Store, part: str = PART) -> tuple[int, str | None]:
    async with store.engine.connect() as conn:
        row = await conn.execute(
            sa.text("SELECT pg_total_relation_size(CAST(:n AS regclass)), obj_description(CAST(:n AS regclass))"),
            {"n": part},
        )
        size, comment = row.one()
        await conn.rollback()
    return int(size), comment


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_day_compacted_to_hourly_is_rewritten_to_the_size_of_its_kept_rows(database: Database) -> None:
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        polls = await a_day_of_polls(store)
        kept = {p: await store.snapshot(ADV, p) for p in polls[11::12]}  # each hour's last poll

        report = await store.maintain(LATER)

        assert report.compacted.merged == 144 - 12
        rewritten = {r.name: r for r in report.rewritten}
        assert rewritten[PART].tier == HOURLY and rewritten[PART].after < rewritten[PART].before / 4
        assert (await size_and_comment(store)) == (rewritten[PART].after, f"compacted at tier {HOURLY}")
        assert (await partitions_of(store, "history_metrics"))[PART] == 12 * 50
        for p, snapshot in kept.items():
            assert await store.snapshot(ADV, p) == snapshot
        # done once per tier: the next run leaves it alone
        assert PART not in {r.name for r in (await store.maintain(LATER + HOUR)).rewritten}
    finally:
        await store.close()


async def comment_on(store: Store, part: str, comment: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(f"COMMENT ON TABLE {part} IS '{comment}'"))


def horizon_in(comment: str | None) -> int:
    """The horizon a partition's comment holds (monitor.store.partition_rewrite), for the hourly tier."""
    found = re.fullmatch(rf"horizon (\d+) for tier {HOURLY}", comment or "")
    assert found is not None, comment
    return int(found[1])


async def compacted(store: Store) -> int:
    """A day of polls compacted into its hours (not yet rewritten); the partition's size before."""
    await a_day_of_polls(store)
    before, _ = await size_and_comment(store)
    merged = await compact.compact(store.engine, TIERS, LATER, compact.Budget.for_engine(store.engine))
    assert merged.merged == 144 - 12
    return before


async def a_writer(store: Store) -> AsyncConnection:
    """A write transaction begun now (its id holds back the cleanup of every later delete)."""
    writer = await store.engine.connect()
    await writer.execute(sa.text("SELECT txid_current()"))
    return writer


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_the_rewrite_waits_for_a_write_transaction_older_than_compaction(database: Database) -> None:
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store)
        before, _ = await size_and_comment(store)
        writer = await a_writer(store)  # began before compaction deleted anything
        compacting = compact.Budget.for_engine(store.engine)
        assert (await compact.compact(store.engine, TIERS, LATER, compacting)).merged == 144 - 12
        blocked, order = asyncio.Event(), []

        async def ends_once_waited_for() -> None:
            await blocked.wait()  # the rewrite's check found the writer running
            order.append("rewrite waiting")
            await asyncio.sleep(0.5)
            await writer.rollback()
            await writer.close()
            order.append("writer ended")

        done, _ = await asyncio.gather(
            partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=5, blocked=blocked),
            ends_once_waited_for(),
        )
        assert order == ["rewrite waiting", "writer ended"]
        rewritten = {r.name: r for r in done.rewritten}  # VACUUM FULL ran after the writer ended: rows left out
        # (its size before may differ from ours by a page of the maps: autovacuum runs meanwhile)
        assert rewritten[PART].before > before / 2 and rewritten[PART].after < before / 4
        assert (await size_and_comment(store)) == (rewritten[PART].after, f"compacted at tier {HOURLY}")
        assert done.deferred == ()
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_rewrite_not_waited_for_is_deferred_with_a_warning_naming_the_writer(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store)
        before, _ = await size_and_comment(store)
        writer = await a_writer(store)
        try:
            assert (await compact.compact(store.engine, TIERS, LATER, compact.Budget.for_engine(store.engine))).merged
            pid = (await writer.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            with caplog.at_level(logging.WARNING, logger=partition_rewrite.__name__):
                done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0)
        finally:
            await writer.rollback()
            await writer.close()
        assert done.rewritten == () and PART in done.deferred
        size, comment = await size_and_comment(store)
        # not rewritten (a rewrite leaves under a quarter; autovacuum may change a page or two meanwhile), nor
        # recorded as done (the comment holds the horizon alone)
        assert size > before / 2 and horizon_in(comment)
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and PART in r.getMessage()]
        assert len(warned) == 1 and f"pid {pid} (database " in warned[0] and "client backend" in warned[0]
        assert "txid_current" not in warned[0]  # never the query text
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_deleted_rows_kept_despite_the_wait_leave_the_day_unmarked(database: Database) -> None:
    """The wait can be wrong (here: a horizon older than the writer, as if written before its deletes); the rows
    VACUUM FULL would keep are counted and the day is neither rewritten nor recorded as done, its horizon renewed."""
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store)
        before, _ = await size_and_comment(store)
        old = await partition_horizon.next_xid(store.engine)
        await comment_on(store, PART, f"horizon {old} for tier {HOURLY}")
        writer = await a_writer(store)  # newer than the horizon: not waited for, yet it holds back the deletes
        try:
            await compact.compact(store.engine, TIERS, LATER, compact.Budget.for_engine(store.engine))
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0)
        finally:
            await writer.rollback()
            await writer.close()
        assert PART in done.deferred and PART not in {r.name for r in done.rewritten}
        size, comment = await size_and_comment(store)
        assert size >= before  # not rewritten (a plain VACUUM adds its free space map)
        assert horizon_in(comment) > old  # nor recorded as done: the rows deleted since are waited for too
        report = await store.maintain(LATER + HOUR)  # the writer ended: the next run does it
        assert PART in {r.name for r in report.rewritten} and report.rewrites_deferred == 0
        assert (await size_and_comment(store))[1] == f"compacted at tier {HOURLY}"
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_later_run_waits_only_for_what_is_older_than_the_days_deletes(database: Database) -> None:
    """Long reads that overlap: each run's reader began after the deletes, not before the run; the second run
    rewrites the day although a reader older than itself still runs."""
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        first = await store.engine.connect()
        first = await first.execution_options(isolation_level="REPEATABLE READ")
        await first.execute(sa.text("SELECT count(*) FROM polls"))
        before = await compacted(store)
        done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0)
        assert PART in done.deferred
        horizon = horizon_in((await size_and_comment(store))[1])  # written with the partition
        second = await store.engine.connect()  # began after the deletes, before the next run
        second = await second.execution_options(isolation_level="REPEATABLE READ")
        await second.execute(sa.text("SELECT count(*) FROM polls"))
        await poll(store, LATER, state("a0"))  # polls go on: a horizon taken now would be newer than the reader
        await first.rollback()
        await first.close()
        try:
            assert horizon_in((await size_and_comment(store))[1]) == horizon  # not taken anew by the next run
            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER + HOUR, wait=0)
        finally:
            await second.rollback()
            await second.close()
        rewritten = {r.name: r for r in done.rewritten}
        assert rewritten[PART].after < before / 4 and PART not in done.deferred
        assert (await size_and_comment(store))[1] == f"compacted at tier {HOURLY}"  # the horizon gone with it
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_a_snapshot_older_than_compaction_leaves_the_rewrite_to_the_next_run(database: Database) -> None:
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store)
        before, _ = await size_and_comment(store)
        async with store.engine.connect() as reader:  # a long read (a backtest, say) began before compaction
            reader = await reader.execution_options(isolation_level="REPEATABLE READ")
            assert (await reader.execute(sa.text("SELECT count(*) FROM polls"))).scalar_one() == 144
            merged = await compact.compact(store.engine, TIERS, LATER, compact.Budget.for_engine(store.engine))
            assert merged.merged == 144 - 12

            done = await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0.2)
            assert done.rewritten == () and PART in done.deferred
            size, comment = await size_and_comment(store)
            # not rewritten (a rewrite leaves under a quarter; the check's plain VACUUM or autovacuum may change a
            # page of the maps), nor recorded as done (the comment holds the horizon alone)
            assert size > before / 2 and horizon_in(comment)
            await reader.rollback()

        rewritten = {r.name: r for r in (await store.maintain(LATER + HOUR)).rewritten}
        assert rewritten[PART].tier == HOURLY and rewritten[PART].after < before / 4
        assert (await partitions_of(store, "history_metrics"))[PART] == 12 * 50
    finally:
        await store.close()
