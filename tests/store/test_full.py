"""A full database (SQLite's SQLITE_FULL, PostgreSQL's SQLSTATE 53100) is a :class:`StoreFullError` at the store's
edge: the poll that met it wrote nothing, what was stored before is intact, and writes work again with room."""

from __future__ import annotations

import errno
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.store import Store
from monitor.store.db import create_engine, writing
from monitor.store.errors import StoreError, StoreFullError, StoreUnavailableError

from .conftest import ADV, NO_POSTGRES, POSTGRES_URL, SKIP_POSTGRES, T0, latest_snapshot, state

#: Enough entities that one poll needs far more pages than a capped database has left.
MANY = 400


def entities(count: int, prefix: str = "a") -> list[Any]:
    return [state(f"{prefix}{i}", name=f"ad {prefix}{i} " + "x" * 200) for i in range(count)]


async def test_sqlite_over_its_max_size_is_full_and_keeps_what_was_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    async with await Store.open(url, owner="test") as first:
        async with first.poll(ADV, T0) as poll:
            poll.save(entities(3))
        before = await latest_snapshot(first, ADV)
    size = (tmp_path / "monitor.db").stat().st_size
    capped = await Store.open(url, owner="test", max_bytes=size + 8 * 4096)
    try:
        with pytest.raises(StoreFullError, match="database or disk is full"):
            async with capped.poll(ADV, T0 + timedelta(minutes=5)) as poll:
                poll.save(entities(MANY, "b"))
        assert await latest_snapshot(capped, ADV) == before  # the failed poll wrote nothing
    finally:
        await capped.close()
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    async with await Store.open(url, owner="test") as roomy:  # space returns: the same poll is stored
        async with roomy.poll(ADV, T0 + timedelta(minutes=10)) as poll:
            poll.save(entities(MANY, "b"))
        after = await latest_snapshot(roomy, ADV)
        assert after is not None and len(after.entities) == MANY


async def test_max_size_is_for_sqlite_only(database: Any) -> None:
    if database.backend == "sqlite":
        store = await database.open(max_bytes=10**9)  # a cap far above the file: opens and writes as usual
        await store.close()
        return
    with pytest.raises(StoreError, match="max_size is for SQLite"):
        await database.open(max_bytes=10**9)


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason=NO_POSTGRES)
@pytest.mark.parametrize(
    ("sqlstate", "error"),
    [("53100", StoreFullError), ("42P01", StoreError)],
    ids=["disk_full", "undefined_table"],
)
async def test_postgres_disk_full_is_store_full(sqlstate: str, error: type[StoreError]) -> None:
    """The server's own error with SQLSTATE 53100 (raised by it, through the real driver) is a full store; another
    error is not."""
    if not POSTGRES_URL:
        pytest.fail("CI is set but TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and export it")
    engine = create_engine(POSTGRES_URL)
    try:
        statement = f"DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '{sqlstate}'; END $$"
        with pytest.raises(error) as raised:
            async with writing(engine) as conn:
                await conn.execute(sa.text(statement))
        assert isinstance(raised.value, StoreFullError) is (sqlstate == "53100")
        assert not isinstance(raised.value, StoreUnavailableError) or sqlstate != "53100"
    finally:
        await engine.dispose()


async def test_a_write_fault_at_the_store_edge_is_store_full_and_writes_nothing(store: Store) -> None:
    """The disk says ENOSPC to one of the poll's inserts (a fault injected into this store's engine): the poll
    fails as a full store, the previous snapshot stays the newest, and the next poll with room is stored."""
    async with store.poll(ADV, T0) as poll:
        poll.save(entities(3))
    before = await latest_snapshot(store, ADV)

    def no_space(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO HISTORY_METRICS"):
            raise OSError(errno.ENOSPC, "No space left on device")

    engine = store.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", no_space)
    try:
        with pytest.raises(StoreFullError, match="No space left on device"):
            async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
                poll.save(entities(5, "b"))
        assert await latest_snapshot(store, ADV) == before
    finally:
        sa.event.remove(engine, "before_cursor_execute", no_space)
    async with store.poll(ADV, T0 + timedelta(minutes=10)) as poll:
        poll.save(entities(5, "b"))
    after = await latest_snapshot(store, ADV)
    assert after is not None and len(after.entities) == 5


async def test_size_of_the_database_and_its_free_disk(store: Store, database: Any) -> None:
    size = await store.size()
    assert size.bytes > 0
    if database.backend == "sqlite":
        assert size.backend == "sqlite" and size.free_bytes is not None and size.free_bytes > 0
    else:  # a PostgreSQL server's disk is not visible to a client
        assert size.backend == "postgresql" and size.free_bytes is None
