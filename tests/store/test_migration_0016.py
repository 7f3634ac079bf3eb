"""Migration 0016: ``advertisers.smart_plus`` comes and goes with the rows that refer to the advertiser kept (on
SQLite with foreign keys on, where a batch copy of the table would fail); an upgraded database knows nothing of
Smart+ until a poll tells."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from monitor.store.db import create_engine
from monitor.store.migrate import current_revisions, head_revision

from .conftest import ADV, T0, Database, state
from .test_migrations import downgrade_to


async def test_smart_plus_is_dropped_and_added_again_with_every_row_kept(database: Database) -> None:
    store = await database.open()
    try:
        async with store.poll(ADV, T0) as poll:
            poll.save([state("1")])
            poll.note_smart_plus(True)
        record = await store.advertiser(ADV)
        assert record is not None and record.smart_plus is True
    finally:
        await store.close()

    await downgrade_to(database, "0015")
    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == ("0015",)
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [x["name"] for x in sa.inspect(c).get_columns("advertisers")])
            assert "smart_plus" not in columns
            assert (await conn.execute(sa.text("SELECT count(*) FROM polls"))).scalar_one() == 1
            assert (await conn.execute(sa.text("SELECT count(*) FROM entities"))).scalar_one() == 1
            if engine.dialect.name == "sqlite":
                assert (await conn.execute(sa.text("PRAGMA foreign_key_check"))).all() == []
    finally:
        await engine.dispose()

    store = await database.open()  # upgraded again on open
    try:
        assert await current_revisions(store.engine) == (head_revision(),)
        record = await store.advertiser(ADV)
        assert record is not None and record.smart_plus is None  # not known until a poll tells
        async with store.poll(ADV, T0 + timedelta(minutes=1)) as poll:
            poll.save([state("1")])
            poll.note_smart_plus(False)
        record = await store.advertiser(ADV)
        assert record is not None and record.smart_plus is False
    finally:
        await store.close()
