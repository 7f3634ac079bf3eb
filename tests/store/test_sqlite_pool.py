"""SQLite connections from the pool (issue 18: the fixed cost of a transaction): a checkout runs no ping, and a
connection comes back to the pool without an open transaction, whoever left one behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

from monitor.store.db import create_engine, reading, writing


def trace_statements(engine: AsyncEngine) -> list[str]:
    """Every statement SQLite itself runs on the engine's connections from now on (its trace callback, set in
    aiosqlite's thread when a connection is made): what the driver sends, pings and transaction control too."""
    seen: list[str] = []

    def traced(statement: str) -> None:
        seen.append(" ".join(statement.split()))

    @sa.event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        setter: Callable[..., Any] = dbapi_connection.driver_connection.set_trace_callback
        await_(setter(traced))  # in aiosqlite's thread, which owns the sqlite3 connection

    return seen


async def test_a_transaction_runs_its_statements_and_no_ping(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    seen = trace_statements(engine)
    try:
        async with writing(engine) as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        seen.clear()
        for _ in range(3):  # the same pooled connection, checked out again and again
            async with reading(engine) as conn:
                await conn.execute(sa.text("SELECT count(*) FROM t"))
    finally:
        await engine.dispose()
    assert seen == ["BEGIN", "SELECT count(*) FROM t", "COMMIT"] * 3


async def test_a_connection_returned_with_an_open_transaction_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    engine, other = create_engine(f"sqlite:///{path}"), create_engine(f"sqlite:///{path}", busy_timeout=0.2)
    try:
        async with writing(engine) as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        async with engine.connect() as conn:  # a transaction SQLAlchemy does not know of: the write lock
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("BEGIN IMMEDIATE")
            await raw.execute("INSERT INTO t VALUES (1)")
        async with writing(other) as conn:  # another writer gets the lock: the first gave it back, unwritten
            await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
        async with reading(engine) as conn:
            assert (await conn.execute(sa.text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()
        await other.dispose()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (1,)
