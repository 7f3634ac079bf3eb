"""The store's maintenance job (the daemon's ``prune`` job, hourly): compaction into the history's tiers, pruning,
and on SQLite returning freed pages to the file system, every part in small batches with a time budget so that a
poll beside it waits for at most one batch (about :attr:`Budget.target`, at most ~100 ms) for the write lock.

SQLite: a database created by this version has ``auto_vacuum=INCREMENTAL`` (monitor.store.db), so freed pages are
given back with ``PRAGMA incremental_vacuum(n)``, a few hundred pages per transaction. An older database keeps
the mode it was created with (``NONE``): its freed pages are reused by later writes but the file does not shrink;
``sqlite3 monitor.db 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM;'`` with the daemon stopped converts it.
PostgreSQL's autovacuum reuses the space of deleted rows by itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import compact, prune
from monitor.store.compact import Budget, CompactReport
from monitor.store.db import writing
from monitor.store.tiers import Tiers
from monitor.store.values import PruneReport

#: Pages one incremental-vacuum transaction gives back (4 KiB each: about 2 MB).
VACUUM_PAGES = 512


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance run did, and the longest time one of its batches held the write lock."""

    compacted: CompactReport
    pruned: PruneReport
    vacuumed_pages: int
    longest_batch: float
    batches: int


async def maintain(
    engine: AsyncEngine, tiers: Tiers, retention: timedelta, now: datetime, budget: Budget | None = None
) -> MaintenanceReport:
    """Compact (monitor.store.compact), prune history older than ``tiers.daily`` and the rest older than
    ``retention`` (monitor.store.prune), then give freed pages back (SQLite)."""
    budget = budget or Budget()
    compacted = await compact.compact(engine, tiers, now, budget)
    pruned = await prune.prune(engine, now - retention, now - tiers.daily, budget=budget)
    pages = await incremental_vacuum(engine, budget)
    return MaintenanceReport(compacted, pruned, pages, budget.longest, budget.batches)


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
        began = time.perf_counter()
        async with writing(engine) as conn:
            await conn.exec_driver_sql(f"PRAGMA incremental_vacuum({VACUUM_PAGES})")
            left = (await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one()
        budget.record(time.perf_counter() - began)
        given += free - left
        if left >= free:
            break
        free = left
        await asyncio.sleep(0)
    return given
