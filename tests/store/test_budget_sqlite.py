"""A lease of the app's budget on SQLite (monitor.store.budget_sqlite): its whole transaction in one trip to the
connection's thread, committed without an fsync, and the connection left as the store's other writes want it
(``synchronous=FULL``, no transaction open), whether the lease was granted or failed."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.store import Store
from monitor.store.budget import AppBudget, leases_t
from monitor.store.errors import StoreUnavailableError
from monitor.store.sqlite_trips import TripConnection


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", busy_timeout=0.2)
    yield opened
    await opened.close()


async def pooled(store: Store) -> tuple[TripConnection, int, bool]:
    """The pool's connection (a lease alone uses one), its trips so far, and its synchronous setting and open
    transaction, read in its thread without a trip counted."""
    async with store.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert isinstance(driver, TripConnection)
        trips = driver.trips
        synchronous, in_transaction = await driver.run(_state)
        driver.trips = trips  # reading the state is not the lease's trip
    return driver, synchronous, in_transaction


def _state(raw: sqlite3.Connection) -> tuple[int, bool]:
    return int(raw.execute("PRAGMA synchronous").fetchone()[0]), raw.in_transaction


async def test_a_lease_is_one_trip_and_leaves_the_connection_durable(store: Store) -> None:
    budget = AppBudget(store.engine, "app")
    await budget.lease(1, qps=10, per_minute=600)  # the app's row made, the connection pooled
    driver, synchronous, in_transaction = await pooled(store)
    before = driver.trips
    lease = await budget.lease(3, qps=10, per_minute=600)
    after_driver, synchronous, in_transaction = await pooled(store)
    assert after_driver is driver and driver.trips - before == 1  # through SQLAlchemy: five
    assert lease.tokens == 3 and budget.batches == 2
    assert synchronous == 2 and not in_transaction  # FULL again: the store's commits still wait for the disk
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(leases_t.c.tokens).order_by(leases_t.c.t))).scalars().all()
    assert rows == [1, 3]


async def test_a_lease_that_cannot_write_fails_as_the_store_does_and_leaves_nothing_open(
    store: Store, tmp_path: Path
) -> None:
    budget = AppBudget(store.engine, "app", write_lock=store.write_lock)
    await budget.lease(1, qps=10, per_minute=600)
    with contextlib.closing(sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process writes: the lease waits its busy timeout, then fails
        with pytest.raises(StoreUnavailableError, match="locked"):
            await budget.lease(1, qps=10, per_minute=600)
        other.execute("ROLLBACK")
    assert store.write_lock.locked_since is not None  # /healthz: since when writes fail for the lock
    assert "locked" in store.write_lock.detail
    _, synchronous, in_transaction = await pooled(store)
    assert synchronous == 2 and not in_transaction
    assert (await budget.lease(2, qps=10, per_minute=600)).tokens == 2
    assert store.write_lock.locked_since is None  # a lease committed: the lock was had
