"""PostgreSQL: a day compaction is done with is rewritten to the size of its kept rows
(monitor.store.partition_rewrite), once per tier; a transaction older than compaction's deletes (which would make
``VACUUM FULL`` keep the deleted rows) is waited for, and one still running after the wait leaves the rewrite to
the next run, which does it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.clock import FrozenClock
from monitor.store import Store, compact, partition_rewrite
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


async def a_day_of_polls(store: Store) -> list[int]:
    """The whole of a UTC day: a poll every 5 minutes for 12 hours, 50 ads whose spend moves every time."""
    polls = []
    for n in range(144):
        at = FIRST + n * 5 * timedelta(minutes=1)
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


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_the_rewrite_waits_for_a_write_transaction_older_than_compaction(database: Database) -> None:
    store = await database.open(FrozenClock(T0), tiers=TIERS)
    try:
        await a_day_of_polls(store)
        before, _ = await size_and_comment(store)
        async with store.engine.connect() as writer:  # a write begun before compaction deleted anything
            await writer.execute(sa.text("SELECT pg_current_xact_id()"))

            async def ends_later() -> None:
                await asyncio.sleep(0.5)
                await writer.rollback()

            report, _ = await asyncio.gather(store.maintain(LATER), ends_later())
        assert report.compacted.merged == 144 - 12
        rewritten = {r.name: r for r in report.rewritten}  # VACUUM FULL ran after the writer ended: rows left out
        assert rewritten[PART].before == before and rewritten[PART].after < before / 4
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

            assert await partition_rewrite.rewrite_compacted(store.engine, TIERS, LATER, wait=0.2) == []
            assert await size_and_comment(store) == (before, None)  # not rewritten, nor recorded as done
            await reader.rollback()

        rewritten = {r.name: r for r in (await store.maintain(LATER + HOUR)).rewritten}
        assert rewritten[PART].tier == HOURLY and rewritten[PART].after < before / 4
        assert (await partitions_of(store, "history_metrics"))[PART] == 12 * 50
    finally:
        await store.close()
