"""SQLite gives the space of deleted history back: a new database is created with ``auto_vacuum=INCREMENTAL``
and maintenance returns its free pages to the file system, a few hundred per transaction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.store import Store
from monitor.store.tiers import Tiers

from .conftest import ADV, T0, Database, state

HOUR = timedelta(hours=1)


async def pragma(store: Store, name: str) -> int:
    async with store.engine.connect() as conn:
        value = (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
        await conn.rollback()
    return int(value)


async def test_a_new_database_returns_the_pages_maintenance_frees(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    tiers = Tiers(raw=HOUR, hourly=2 * HOUR, daily=3 * HOUR)
    store = await Database("sqlite", f"sqlite:///{path}").open(tiers=tiers, retention=2 * HOUR)
    try:
        assert await pragma(store, "auto_vacuum") == 2  # INCREMENTAL
        for n in range(30):
            async with store.poll(ADV, T0 + n * HOUR) as poll:
                poll.save(
                    [state(f"a{i}", metrics={"today": {"spend": n * i + 0.5, "x": "y" * 50}}) for i in range(200)]
                )
        pages = await pragma(store, "page_count")
        report = await store.maintain(T0 + 30 * HOUR)
        assert report.pruned.history_rows > 0 and report.vacuumed_pages > 0
        assert await pragma(store, "freelist_count") == 0
        assert await pragma(store, "page_count") < pages / 2
    finally:
        await store.close()
