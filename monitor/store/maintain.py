"""The store's maintenance job (the daemon's hourly ``maintenance`` job): compaction into the history's tiers, pruning,
and on SQLite returning freed pages to the file system, every part in small batches with a time budget so that a
poll beside it waits for at most one batch (about :attr:`Budget.target`, at most ~100 ms) for the write lock.

SQLite: a database created by this version has ``auto_vacuum=INCREMENTAL`` (monitor.store.db), so freed pages are
given back with ``PRAGMA incremental_vacuum(n)``, a few hundred pages per transaction. An older database keeps
the mode it was created with (``NONE``): its freed pages are reused by later writes but the file does not shrink;
``sqlite3 monitor.db 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM;'`` with the daemon stopped converts it.
PostgreSQL: the history is partitioned by day (monitor.store.partitions). The job first makes the partitions of
today and the next days (and of any day whose rows wait in the default partition); pruning drops expired days
whole (monitor.store.partition_drop); last, the partitions of the days compaction is done with are rewritten to
the size of their kept rows (monitor.store.partition_rewrite).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.bytesize import format_size
from monitor.store import compact, partition_rewrite, partitions, prune
from monitor.store.compact import Budget, CompactReport
from monitor.store.holding import holding
from monitor.store.tiers import DAILY, Tiers, span_start
from monitor.store.values import PruneReport

log = logging.getLogger(__name__)

#: Pages one incremental-vacuum transaction gives back (4 KiB each: about 1 MB).
VACUUM_PAGES = 256


#: With ``[storage] max_size`` (SQLite), the oldest history goes while the database uses more than this share.
HEADROOM = 0.9


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance run did, and the longest time one of its batches held the write lock.
    ``dropped_before``: history before then was deleted to stay under ``[storage] max_size`` (None: nothing)."""

    compacted: CompactReport
    pruned: PruneReport
    vacuumed_pages: int
    longest_batch: float
    batches: int
    dropped_before: datetime | None = None
    rewritten: tuple[partition_rewrite.Rewritten, ...] = ()  # PostgreSQL: partitions compaction is done with
    rewrites_deferred: int = 0  # PostgreSQL: partitions due but left to the next run (monitor.store.partition_rewrite)


async def maintain(
    engine: AsyncEngine,
    tiers: Tiers,
    retention: timedelta,
    now: datetime,
    budget: Budget | None = None,
    max_bytes: int | None = None,
) -> MaintenanceReport:
    """Make the coming days' history partitions (PostgreSQL), compact (monitor.store.compact), prune history
    older than ``tiers.daily`` and the rest older than ``retention`` (monitor.store.prune), drop the oldest
    history while a SQLite database uses more than :data:`HEADROOM` of ``max_bytes`` (logged as a warning), then
    give freed pages back (SQLite) or rewrite the partitions of days compaction is done with (PostgreSQL:
    monitor.store.partition_rewrite)."""
    budget = budget or Budget.for_engine(engine)
    if partitions.partitioned(engine):
        await partitions.prepare(engine, now)
    compacted = await compact.compact(engine, tiers, now, budget)
    pruned = await prune.prune(engine, now - retention, now - tiers.daily, budget=budget)
    dropped = None if max_bytes is None else await within_size(engine, max_bytes, now - retention, budget)
    pages = await incremental_vacuum(engine, budget)
    rewrites = partition_rewrite.Rewrites()
    if partitions.partitioned(engine):
        rewrites = await partition_rewrite.rewrite_compacted(engine, tiers, now)
    return MaintenanceReport(
        compacted, pruned, pages, budget.longest, budget.batches, dropped, rewrites.rewritten, len(rewrites.deferred)
    )


async def used_bytes(engine: AsyncEngine) -> int | None:
    """The bytes a SQLite database's pages in use take (free pages not counted); None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    async with engine.connect() as conn:
        pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
        free = (await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one()
        size = (await conn.exec_driver_sql("PRAGMA page_size")).scalar_one()
        await conn.rollback()
    return int((pages - free) * size)


async def within_size(engine: AsyncEngine, max_bytes: int, cutoff: datetime, budget: Budget) -> datetime | None:
    """Delete the oldest day of history, then the next, while the database uses more than :data:`HEADROOM` of
    ``max_bytes``; the newest snapshot of each advertiser always stays. Returns the time history now starts at
    (None: nothing was deleted). ``cutoff`` is the rest's retention cutoff (monitor.store.prune)."""
    dropped = None
    while (used := await used_bytes(engine)) is not None and used > HEADROOM * max_bytes:
        oldest = await prune.oldest_droppable(engine)
        if oldest is None:
            break
        dropped = span_start(oldest, DAILY) + timedelta(days=1)
        await prune.prune(engine, cutoff, dropped, budget=budget)
    if dropped is not None:
        log.warning(
            "history before %s UTC deleted to keep the database under %d%% of [storage] max_size (%s)",
            f"{dropped:%Y-%m-%d %H:%M}",
            round(100 * HEADROOM),
            format_size(max_bytes),
        )
    return dropped


async def incremental_vacuum(engine: AsyncEngine, budget: Budget) -> int:
    """Give the free pages of an ``auto_vacuum=INCREMENTAL`` SQLite database back, ``VACUUM_PAGES`` at a time;
    how many. Nothing on PostgreSQL or in other modes."""
    if engine.dialect.name != "sqlite":
        return 0
    async with engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA auto_vacuum")).scalar_one()
        free = (await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one()
        await conn.rollback()
    if mode != 2:  # INCREMENTAL
        return 0
    given = 0
    while free > 0:
        async with holding(engine) as conn:
            began = time.perf_counter()  # the write lock is ours from here
            await conn.exec_driver_sql(f"PRAGMA incremental_vacuum({VACUUM_PAGES})")
            left = (await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one()
        budget.record(time.perf_counter() - began)
        given += free - left
        if left >= free:
            break
        free = left
        await budget.turn()
    return given
