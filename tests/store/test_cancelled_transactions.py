"""A transaction cancelled while it awaits the database (the poll deadline does that) leaves nothing behind: its
connection's transaction is rolled back at once, so no lock outlives it and the next write on the engine goes
through (on SQLite and PostgreSQL).

The garbage collector is off in these tests, as good as the daemon's tuning (``monitor.gctune``: rare full
collections): whatever only the cyclic collector would release stays, as it did in the soak run where a connection
closed mid-statement kept SQLite's write lock until the process was killed.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.store import Store
from monitor.store.db import normalize_url, reading, writing
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0

SLOW = 1.5  # seconds one injected statement takes
CANCEL_AFTER = 0.3  # seconds: the deadline falls while that statement runs


@pytest.fixture
def no_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 1


async def _slow_statement(store: Store, backend: str) -> str:
    """A statement that takes SLOW seconds in the database: SQLite gets a slow function on each new connection."""
    if backend == "postgres":
        return f"SELECT pg_sleep({SLOW})"

    @sa.event.listens_for(store.engine.sync_engine, "connect")
    def slow_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("slow_sleep", 1, _sleep)

    await store.engine.dispose()  # the pooled connections have no such function
    return f"SELECT slow_sleep({SLOW})"


async def _write_then_stall(engine: AsyncEngine, slow: str) -> None:
    async with writing(engine) as conn:
        await conn.execute(sa.text("UPDATE advertisers SET name = 'written' WHERE id = :id"), {"id": ADV})
        await conn.execute(sa.text(slow))


async def _read_then_stall(engine: AsyncEngine, slow: str) -> None:
    async with reading(engine) as conn:
        await conn.execute(sa.text("SELECT count(*) FROM advertisers"))
        await conn.execute(sa.text(slow))


async def _cancelled(work: Any, *, twice: bool = False) -> None:
    """Run ``work`` and cancel it while its slow statement runs (``twice``: again while it cleans up)."""
    task = asyncio.create_task(work)
    await asyncio.sleep(CANCEL_AFTER)
    task.cancel()
    if twice:
        await asyncio.sleep(0.05)
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _seed(store: Store) -> None:
    await store.upsert_advertisers([AdvertiserInfo(ADV, "a", None, None, None)], T0)


async def _lock_is_free(database: Any, store: Store) -> bool:
    """Whether another connection can take the write lock and empty the WAL, which no reader then holds
    (SQLite), or lock the row written (PostgreSQL), at once."""
    if database.backend == "sqlite":
        raw = sqlite3.connect(store.engine.url.database or "", timeout=0.2, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
            busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return bool(busy == 0)
        except sqlite3.OperationalError:
            return False
        finally:
            raw.close()
    other = create_async_engine(normalize_url(database.url))
    try:
        async with other.connect() as conn:
            await conn.exec_driver_sql("SET lock_timeout = '200ms'")
            table = f'"{database.schema}".advertisers'
            await conn.execute(sa.text(f"UPDATE {table} SET name = 'other' WHERE id = :id"), {"id": ADV})  # noqa: S608
            await conn.rollback()
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        await other.dispose()


@pytest.mark.parametrize("twice", [False, True], ids=["cancelled", "cancelled-twice"])
@pytest.mark.parametrize("work", [_write_then_stall, _read_then_stall], ids=["writing", "reading"])
async def test_a_transaction_cancelled_mid_statement_leaves_no_lock_behind(
    database: Any, no_collector: None, work: Any, twice: bool
) -> None:
    store = await database.open(busy_timeout=2.0)
    try:
        slow = await _slow_statement(store, database.backend)
        await _seed(store)
        await _cancelled(work(store.engine, slow), twice=twice)
        await asyncio.sleep(SLOW)  # the statement the cancellation could not stop is over (SQLite's thread)

        assert await _lock_is_free(database, store)
        started = time.monotonic()
        async with writing(store.engine) as conn:  # the same engine writes again, at once
            await conn.execute(sa.text("UPDATE advertisers SET name = 'later' WHERE id = :id"), {"id": ADV})
        assert time.monotonic() - started < 1.0
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.name == "later"  # the cancelled write was rolled back
    finally:
        await store.close()


async def test_the_cancelled_write_is_not_committed(database: Any, no_collector: None, tmp_path: Path) -> None:
    store = await database.open(busy_timeout=2.0)
    try:
        slow = await _slow_statement(store, database.backend)
        await _seed(store)
        await _cancelled(_write_then_stall(store.engine, slow))
        await asyncio.sleep(SLOW)
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.name == "a"
    finally:
        await store.close()
