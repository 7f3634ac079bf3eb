"""monitor.store.bulk: rows handed to the driver as tuples, compiled once, write exactly what SQLAlchemy's list of
dicts wrote: in any column order, as an upsert, and with a driver that takes named parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


keyed = sa.Table(
    "bulk_keyed",
    meta,
    sa.Column("k", sa.String, primary_key=True),
    sa.Column("poll", sa.BigInteger, primary_key=True),
    sa.Column("n", sa.BigInteger),
    sa.Column("tag", sa.String),
)


async def test_constants_are_in_every_row_and_no_row_carries_them(store: Store) -> None:
    """Values the same in every row (a poll's id) are given once: an integer is a literal of the statement (the
    rows carry the other columns only, also a key column, with nothing fetched back), others go with each row;
    an upsert keeps its conflict clause. On PostgreSQL the rows are COPYed without the constants, which are
    parameters of the one INSERT ... SELECT."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if "bulk_keyed" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append((statement, params))

    async with writing(store.engine) as conn:
        await conn.run_sync(meta.create_all)
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with writing(store.engine) as conn:
            rows = [("a", 1), ("b", None)]
            await bulk.insert_many(conn, sa.insert(keyed), ("k", "n"), rows, {"poll": 7, "tag": "x"})
            insert = lease.dialect_insert(conn, keyed)
            upsert = insert.on_conflict_do_update(
                index_elements=[keyed.c.k, keyed.c.poll], set_={"n": insert.excluded.n, "tag": insert.excluded.tag}
            )
            await bulk.insert_many(conn, upsert, ("k", "n"), [("b", 5), ("c", 6)], {"poll": 7, "tag": "y"})
            await bulk.execute_many(conn, sa.insert(keyed), ("k", "n", "tag"), [("a", 2, "z")], {"poll": 8})
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    async with writing(store.engine) as conn:
        query = sa.select(keyed.c.k, keyed.c.poll, keyed.c.n, keyed.c.tag).order_by(keyed.c.k, keyed.c.poll)
        assert [tuple(r) for r in await conn.execute(query)] == [
            ("a", 7, 1, "x"),
            ("a", 8, 2, "z"),
            ("b", 7, 5, "y"),
            ("c", 7, 6, "y"),
        ]
    assert statements and not any("RETURNING" in statement.upper() for statement, _ in statements)
    if store.engine.dialect.driver != "asyncpg":
        assert all(" 7" in s or " 8" in s for s, _ in statements)  # the poll: a literal, not a value of each row
        rows_sent = [row for _, params in statements for row in (params if isinstance(params, list) else [params])]
        assert [len(row) for row in rows_sent] == [3, 3, 3, 3, 3]  # k, n, tag: no poll


KEYED_INSERT = sa.insert(keyed)  # one statement object, as a poll's modules keep theirs
KEYED_UPDATE = sa.update(keyed).where(keyed.c.k == sa.bindparam("row_k")).values(n=sa.bindparam("row_n"))


async def test_a_statement_used_again_is_compiled_once_and_takes_each_blocks_constants(store: Store) -> None:
    """A poll's statements are the same objects poll after poll: compiled once per process, the constants (the
    poll's id) written into each block's text (an INSERT's column, an UPDATE's SET)."""
    async with writing(store.engine) as conn:
        await conn.run_sync(meta.create_all)
    for poll in (7, 8):
        async with writing(store.engine) as conn:
            await bulk.execute_many(conn, KEYED_INSERT, ("k", "n"), [(f"a{poll}", 1), (f"b{poll}", 2)], {"poll": poll})
            async with bulk.counting(conn, KEYED_UPDATE, ("row_k", "row_n"), {"poll": poll + 10}) as update:
                assert await update([(f"a{poll}", 5)]) == 1
    async with writing(store.engine) as conn:
        query = sa.select(keyed.c.k, keyed.c.poll, keyed.c.n).order_by(keyed.c.k)
        assert [tuple(r) for r in await conn.execute(query)] == [
            ("a7", 17, 5),
            ("a8", 18, 5),
            ("b7", 7, 2),
            ("b8", 8, 2),
        ]
    dialect = store.engine.dialect
    first = bulk._compiled(dialect, KEYED_INSERT, ("k", "n"), ("poll",))
    assert bulk._compiled(dialect, KEYED_INSERT, ("k", "n"), ("poll",)) is first  # kept, not compiled again
    assert "7" not in first[0] and "8" not in first[0]  # a marker stands for the constant until a block writes it
