"""Migration 0015: on PostgreSQL a database whose history is in plain tables (revision 0014) gets it partitioned by
day, every row in its poll's day (a row whose poll was pruned in the oldest day), and every stored snapshot and
the backtest's stream read the same; the downgrade gives plain tables back that read the same too. SQLite keeps
its tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.clock import FrozenClock
from monitor.store import Store
from monitor.store import replay as history
from monitor.store.db import create_engine
from monitor.store.migrate import current_revisions, head_revision, upgrade

from .conftest import ADV, BACKENDS, T0, Database
from .histories import histories
from .test_migration_0013 import fill_0011
from .test_migrations import downgrade_to

STEP = timedelta(hours=5)  # twelve polls over three UTC days


async def reads(database: Database, polls: range) -> tuple[list[object], list[object]]:
    """Every snapshot of ``polls`` and the backtest's stream from T0, read from the database as it is (no
    upgrade: a store made on the engine)."""
    engine = create_engine(database.url, schema=database.schema)
    store = Store(
        engine, clock=FrozenClock(T0), retention=timedelta(days=90), lease_ttl=timedelta(minutes=1), owner="t"
    )
    try:
        snapshots = [await store.snapshot(ADV, p) for p in polls]
        streamed = [(s, replayed) async for s, replayed in history.snapshots(engine, ADV, T0)]
    finally:
        await engine.dispose()
    return snapshots, streamed


async def layout(database: Database) -> dict[str, dict[str, int]]:
    """Each history table's partitions and the rows in each."""
    engine = create_engine(database.url, schema=database.schema)
    out: dict[str, dict[str, int]] = {}
    try:
        async with engine.connect() as conn:
            for table in ("history_states", "history_metrics"):
                names = await conn.execute(
                    sa.text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = CAST(:t AS regclass)"
                    ),
                    {"t": table},
                )
                out[table] = {}
                for (name,) in list(names):
                    out[table][name] = (await conn.execute(sa.text(f"SELECT count(*) FROM {name}"))).scalar_one()  # noqa: S608
    finally:
        await engine.dispose()
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("database", [BACKENDS[1]], indirect=True)
async def test_history_at_0014_is_partitioned_by_day_and_reads_the_same(database: Database) -> None:
    seen = histories(seed=11, polls=12)
    await fill_0011(database, seen, step=STEP)
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0014")
    async with engine.begin() as conn:  # the first two polls were pruned: their rows that poll 3 reads stay
        await conn.execute(sa.text("DELETE FROM polls WHERE id <= 2"))
        total = {
            t: (await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()  # noqa: S608
            for t in ("history_states", "history_metrics")
        }
    await engine.dispose()
    before = await reads(database, range(3, 13))
    assert before[0][0] is not None and all(s is not None for s in before[0])

    store = await database.open()
    await store.close()

    assert await reads(database, range(3, 13)) == before
    found = await layout(database)
    days = {(T0 + n * STEP).date() for n in range(2, 12)}  # the days of the polls left
    for table, partitions in found.items():
        assert set(partitions) == {f"{table}_p{d:%Y%m%d}" for d in days} | {f"{table}_default"}
        assert sum(partitions.values()) == total[table] and partitions[f"{table}_default"] == 0
    async with (engine := create_engine(database.url, schema=database.schema)).connect() as conn:
        misplaced = await conn.execute(
            sa.text(
                "SELECT count(*) FROM history_metrics h JOIN polls p ON p.id = h.poll_id "
                "WHERE h.day <> (p.started_at AT TIME ZONE 'UTC')::date"
            )
        )
        assert misplaced.scalar_one() == 0
        orphans = await conn.execute(sa.text("SELECT DISTINCT day FROM history_states WHERE poll_id <= 2"))
        assert set(orphans.scalars()) <= {min(days)}
    await engine.dispose()

    await downgrade_to(database, "0014")
    assert await reads(database, range(3, 13)) == before
    assert await layout(database) == {"history_states": {}, "history_metrics": {}}


@pytest.mark.parametrize("database", [BACKENDS[0]], indirect=True)
async def test_sqlite_keeps_its_history_tables(database: Database) -> None:
    store = await database.open()
    try:
        assert await current_revisions(store.engine) == (head_revision(),)
        async with store.engine.connect() as conn:
            found = await conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'history_metrics'"))
            sql = found.scalar_one()
            assert "day" not in sql and "WITHOUT ROWID" in sql
    finally:
        await store.close()
