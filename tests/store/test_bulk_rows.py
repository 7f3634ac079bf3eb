"""monitor.store.bulk: rows handed to the driver as tuples, compiled once, write exactly what SQLAlchemy's list of
dicts wrote: in any column order, as an upsert, and with a driver that takes named parameters."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store import Store, bulk, lease
from monitor.store.db import writing

meta = sa.MetaData()
scratch = sa.Table(
    "bulk_scratch",
    meta,
    sa.Column("k", sa.String, primary_key=True),
    sa.Column("n", sa.BigInteger),
    sa.Column("x", sa.Float),
    sa.Column("flag", sa.Boolean),
    sa.Column("text", sa.Text),
)
ROWS = [("a", 1, 0.5, True, "é"), ("b", None, None, False, None), ("c", 2**40, 2.0, True, '{"q":1}')]


async def read(conn: sa.ext.asyncio.AsyncConnection) -> list[tuple[object, ...]]:
    query = sa.select(scratch.c.k, scratch.c.n, scratch.c.x, scratch.c.flag, scratch.c.text).order_by(scratch.c.k)
    return [tuple(row) for row in await conn.execute(query)]


async def test_rows_in_any_column_order_and_upserted(store: Store) -> None:
    async with writing(store.engine) as conn:
        await conn.run_sync(meta.create_all)
        columns = ("text", "flag", "x", "n", "k")  # not the table's order
        await bulk.execute_many(conn, sa.insert(scratch), columns, [tuple(reversed(r)) for r in ROWS])
        insert = lease.dialect_insert(conn, scratch)
        upsert = insert.on_conflict_do_update(index_elements=[scratch.c.k], set_={"x": insert.excluded.x})
        await bulk.execute_many(conn, upsert, ("k", "n", "x", "flag", "text"), [("a", 9, 7.5, False, "z")])
        assert await read(conn) == [("a", 1, 7.5, True, "é"), *ROWS[1:]]


async def test_a_driver_with_named_parameters_gets_dicts(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'named.db'}", paramstyle="named")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            await bulk.execute_many(conn, sa.insert(scratch), ("k", "n", "x", "flag", "text"), ROWS)
            upsert = sqlite_insert(scratch)
            upsert = upsert.on_conflict_do_update(index_elements=[scratch.c.k], set_={"n": upsert.excluded.n})
            await bulk.execute_many(conn, upsert, ("k", "n", "x", "flag", "text"), [("b", 3, 1.0, True, "new")])
            assert await read(conn) == [ROWS[0], ("b", 3, None, False, None), ROWS[2]]
            await bulk.execute_many(conn, sa.insert(scratch), ("k",), [])  # nothing to write: no statement
    finally:
        await engine.dispose()


async def test_insert_many_twice_in_a_transaction_after_one_rolled_back(store: Store) -> None:
    """On PostgreSQL the rows pass through a temporary table: emptied after each batch, gone with a rolled back
    transaction that created it, made again by the next."""
    columns = ("k", "n", "x", "flag", "text")
    async with writing(store.engine) as conn:
        await conn.run_sync(meta.create_all)
    try:
        async with writing(store.engine) as conn:
            await bulk.insert_many(conn, sa.insert(scratch), columns, [ROWS[0]])
            raise RuntimeError("the commit fails")
    except RuntimeError:
        pass
    async with writing(store.engine) as conn:
        await bulk.insert_many(conn, sa.insert(scratch), columns, ROWS[:2])
        insert = lease.dialect_insert(conn, scratch)
        upsert = insert.on_conflict_do_update(index_elements=[scratch.c.k], set_={"text": insert.excluded.text})
        await bulk.insert_many(conn, upsert, columns, [("b", 5, 5.0, True, "b2"), ROWS[2]])
        await bulk.insert_many(conn, sa.insert(scratch), columns, [])
    async with writing(store.engine) as conn:
        assert await read(conn) == [ROWS[0], ("b", None, None, False, "b2"), ROWS[2]]
