"""The store's :class:`~monitor.store.writelock.WriteLockWatch` on a real SQLite file: a write refused because
another connection keeps the write lock starts the streak, reads do not end it, the next write that commits does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.clock import FrozenClock
from monitor.store import Store
from monitor.store.db import normalize_url
from monitor.store.errors import StoreUnavailableError
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0


async def test_a_locked_database_starts_the_streak_and_the_next_commit_ends_it(tmp_path: Path) -> None:
    clock = FrozenClock(T0)
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    store = await Store.open(url, clock=clock, owner="test", busy_timeout=0.2)
    other = create_async_engine(normalize_url(url))
    try:
        await store.upsert_advertisers([AdvertiserInfo(ADV, "a", None, None, None)], T0)
        assert store.write_lock.locked_since is None
        async with other.connect() as conn:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")  # another connection keeps the write lock
            with pytest.raises(StoreUnavailableError, match="database is locked"):
                await store.upsert_advertisers([AdvertiserInfo(ADV, "b", None, None, None)], T0)
            assert store.write_lock.locked_since == T0
            assert store.write_lock.detail == "database is locked"
            clock.advance(60)
            assert await store.advertiser(ADV) is not None  # a read commits, yet proves nothing about the lock
            with pytest.raises(StoreUnavailableError):
                await store.upsert_advertisers([AdvertiserInfo(ADV, "b", None, None, None)], clock.now())
            assert store.write_lock.locked_since == T0  # the streak's first refusal
            await conn.rollback()
        await store.upsert_advertisers([AdvertiserInfo(ADV, "c", None, None, None)], clock.now())
        assert store.write_lock.locked_since is None
    finally:
        await other.dispose()
        await store.close()
