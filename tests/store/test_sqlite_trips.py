"""SQLite connections with one trip to aiosqlite's thread per statement (monitor.store.sqlite_trips, issue 18):
results, row counts, streamed reads and errors as aiosqlite's own cursors give them, in fewer trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.store.db import create_engine, reading, writing
from monitor.store.sqlite_trips import FIRST_ROWS, TripConnection

METADATA = sa.MetaData()
ROWS = sa.Table(
    "rows",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, unique=True),
    sa.Column("n", sa.Float),
)
SIZES = (0, 1, FIRST_ROWS - 1, FIRST_ROWS, FIRST_ROWS + 1, 3 * FIRST_ROWS + 7)


@pytest.fixture
async def engines(tmp_path: Any) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The store's engine and plain aiosqlite's, on one file."""
    ours = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    theirs = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    async with ours.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield ours, theirs
    await ours.dispose()
    await theirs.dispose()


async def fill(engine: AsyncEngine, n: int) -> None:
    async with writing(engine) as conn:
        await conn.execute(sa.delete(ROWS))
        if n:
            await conn.execute(sa.insert(ROWS), [{"name": f"r{i}", "n": i / 2} for i in range(n)])


async def test_results_are_aiosqlites_whatever_their_length(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    ours, theirs = engines
    query = sa.select(ROWS).order_by(ROWS.c.id)
    for n in SIZES:
        await fill(ours, n)
        got = {}
        for name, engine in (("ours", ours), ("theirs", theirs)):
            async with engine.connect() as conn:
                whole = [tuple(r) for r in await conn.execute(query)]
                first = (await conn.execute(query)).first()
                streamed = [tuple(r) async for r in await conn.stream(query.execution_options(yield_per=100))]
                sliced = []
                async for part in (await conn.stream(query.execution_options(yield_per=FIRST_ROWS // 3))).partitions():
                    sliced.append([tuple(r) for r in part])
                many = (await conn.execute(query)).fetchmany(FIRST_ROWS + 3)
                got[name] = (whole, first, streamed, sliced, [tuple(r) for r in many])
        assert got["ours"] == got["theirs"], n
        assert len(got["ours"][0]) == n


async def test_row_counts_returning_and_last_ids_are_aiosqlites(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    ours, theirs = engines
    got = {}
    for name, engine in (("ours", ours), ("theirs", theirs)):
        await fill(engine, 10)
        async with writing(engine) as conn:
            updated = (await conn.execute(sa.update(ROWS).where(ROWS.c.n < 2).values(n=ROWS.c.n + 100))).rowcount
            deleted = (await conn.execute(sa.delete(ROWS).where(ROWS.c.name == "r9"))).rowcount
            none = (await conn.execute(sa.delete(ROWS).where(ROWS.c.name == "gone"))).rowcount
            inserted = await conn.execute(sa.insert(ROWS).values(name="new", n=1.0))
            returned = (await conn.execute(sa.insert(ROWS).values(name="ret", n=2.0).returning(ROWS.c.id))).scalar_one()
            many = await conn.execute(sa.insert(ROWS), [{"name": "m1"}, {"name": "m2"}])
            count = (await conn.exec_driver_sql("SELECT count(*) FROM rows")).scalar_one()
        got[name] = (updated, deleted, none, inserted.inserted_primary_key, returned, many.rowcount, count)
    assert got["ours"] == got["theirs"] == (4, 1, 0, (10,), 11, 2, 13)


async def test_an_error_is_the_drivers_and_the_transaction_rolls_back(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    ours, _ = engines
    await fill(ours, 3)
    with pytest.raises(Exception) as raised:
        async with writing(ours) as conn:
            await conn.execute(sa.insert(ROWS).values(name="fresh"))
            await conn.execute(sa.insert(ROWS).values(name="r1"))  # unique
    assert "UNIQUE constraint failed" in str(raised.value)
    async with reading(ours) as conn:
        names = (await conn.execute(sa.select(ROWS.c.name).order_by(ROWS.c.name))).scalars().all()
    assert names == ["r0", "r1", "r2"]


async def test_a_stream_left_half_read_leaves_nothing_open(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    ours, _ = engines
    await fill(ours, 3 * FIRST_ROWS)
    async with reading(ours) as conn:
        result = await conn.stream(sa.select(ROWS).execution_options(yield_per=10))
        assert len(await result.fetchmany(10)) == 10
        await result.close()  # its SQLite cursor is closed: the read transaction ends cleanly
    async with writing(ours) as conn:  # the write lock is there to take
        await conn.execute(sa.delete(ROWS))
    async with reading(ours) as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(ROWS))).scalar_one() == 0


async def test_a_statement_is_one_trip_to_the_connections_thread(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    ours, _ = engines
    await fill(ours, 3 * FIRST_ROWS)
    async with ours.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        assert isinstance(raw, TripConnection)
        trips = raw.trips
        await conn.execute(sa.select(ROWS).where(ROWS.c.id < 5))
        await conn.execute(sa.update(ROWS).where(ROWS.c.id == 1).values(n=0.0))
        assert raw.trips - trips == 3  # BEGIN, the SELECT, the UPDATE (aiosqlite's own cursors: 4 each)
        trips = raw.trips
        result = await conn.stream(sa.select(ROWS).execution_options(yield_per=FIRST_ROWS))
        slices = [len(part) async for part in result.partitions()]
        assert slices == [FIRST_ROWS] * 3
        assert raw.trips - trips <= 4  # the first slice with the statement, each further one a trip
        await conn.rollback()
