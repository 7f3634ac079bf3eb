"""A poll's rows are built and handed to the driver in bounded slices (monitor.store.poll_write), and written
exactly as one slice writes them: the same rows in every table, the same keys, the same order; rows whose metrics
alone changed, updated by key on SQLite, end as the upsert would leave them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from operator import attrgetter
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.domain import EntityState, Level
from monitor.store import Store
from monitor.store.db import normalize_url, reading, writing
from monitor.store.snapshots import STATE_COLUMNS

from .conftest import ADV, T0, Database, state

SLICE = 7
#: Ads of the first poll: more than 500 new keys are read back in one streamed range read (monitor.store.history).
ADS = 520
TABLES = ("entities", "entity_keys", "history_names", "history_states", "history_metrics", "polls")


def first_states() -> list[EntityState]:
    """Campaigns, ad groups and ads (given in no sorted order) with windows of several metric sets, ints, floats
    and missing values."""
    out = [state(f"c{i}", Level.CAMPAIGN, metrics={"today": {"spend": float(i)}}) for i in (3, 1, 2)]
    out += [state(f"g{i}", Level.ADGROUP, metrics={"today": {"spend": i * 1.5, "clicks": i}}) for i in range(9, 0, -1)]
    for i in range(ADS, 0, -1):
        metrics: dict[str, dict[str, Any]] = {
            "today": {"spend": i / 4, "impressions": i * 10, "conversion": None if i % 3 else i},
            "yesterday": {"spend": float(i), "impressions": 0},
        }
        if i % 5 == 0:
            metrics["lifetime"] = {"spend": i * 100.0}
        out.append(state(f"a{i:03d}", metrics=metrics, campaign_id=f"c{i % 3 + 1}"))
    return out


def next_states(before: list[EntityState], gone: tuple[str, ...], new: tuple[int, ...]) -> list[EntityState]:
    """Spend moved on for some, one paused, one window no longer reported; ``gone`` and ``new`` ads."""
    out = []
    for s in before:
        if s.id in gone:
            continue
        fields: dict[str, Any] = {}
        if s.id.startswith("a") and int(s.id[1:]) % 2 == 0:
            metrics = {w: dict(v) for w, v in s.metrics.items()}
            metrics["today"]["spend"] = metrics["today"]["spend"] + 1.0
            metrics.pop("lifetime", None)
            fields["metrics"] = metrics
        if s.id == "a012":
            fields["operation_status"] = "DISABLE"
        out.append(s if not fields else _with(s, **fields))
    out += [state(f"a{i}", metrics={"today": {"spend": 0.0, "impressions": 0}}) for i in new]
    return out


def _with(s: EntityState, **fields: Any) -> EntityState:
    values = {name: getattr(s, name) for name in ("level", "id", "advertiser_id", "name", "operation_status")}
    values.update(
        secondary_status=s.secondary_status,
        budget=s.budget,
        budget_mode=s.budget_mode,
        campaign_id=s.campaign_id,
        adgroup_id=s.adgroup_id,
        metrics=s.metrics,
    )
    values.update(fields)
    return EntityState(**values)


async def three_polls(store: Store) -> None:
    """A first poll; a second compared before its commit, as the pipeline does; a third not compared (its commit
    compares, slice by slice)."""
    first = first_states()
    async with store.poll(ADV, T0) as poll:
        poll.save(first)
        await poll.compare()
    second = next_states(first, ("a007", "a021", "g4"), (650, 645, 641))
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        poll.save(second)
        await poll.compare()
    third = next_states(second, ("a650", "c2"), (660,))
    async with store.poll(ADV, T0 + timedelta(minutes=10)) as poll:
        poll.save(third)


async def table_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the poll's tables, each table in its primary key's order; on SQLite also the ``entities``
    rows in the order they were inserted (their rowids)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    meta = sa.MetaData()
    async with reading(store.engine) as conn:
        for name in TABLES:
            table = await conn.run_sync(lambda c, n=name: sa.Table(n, meta, autoload_with=c))
            key = list(table.primary_key.columns) or list(table.columns)
            out[name] = [tuple(row) for row in await conn.execute(sa.select(table).order_by(*key))]
        if conn.dialect.name == "sqlite":
            query = "SELECT level, entity_id FROM entities ORDER BY rowid"
            out["entities by rowid"] = [tuple(row) for row in await conn.exec_driver_sql(query)]
    return out


@pytest.fixture
async def twin(database: Database, tmp_path: Any) -> AsyncIterator[Store]:
    """A second, empty store on the same backend."""
    if database.schema is None:
        other = Database(database.backend, f"sqlite:///{tmp_path / 'twin.db'}")
    else:
        other = Database(database.backend, database.url, f"test_{uuid.uuid4().hex[:16]}")
    opened = await other.open()
    yield opened
    await opened.close()
    if other.schema is not None:
        engine = create_async_engine(normalize_url(other.url))
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{other.schema}" CASCADE'))
        await engine.dispose()


async def test_slices_write_the_same_rows_as_one(store: Store, twin: Store) -> None:
    store.write_slice = SLICE
    twin.write_slice = 100_000
    await three_polls(store)
    await three_polls(twin)
    mine, whole = await table_rows(store), await table_rows(twin)
    assert mine == whole
    assert len(mine["entities"]) == ADS + 16 and len(mine["history_metrics"]) > 100  # slices of 7: many of them


async def test_rows_reach_the_driver_in_slices_of_at_most_write_slice(store: Store) -> None:
    """Each executemany of the poll's tables carries at most ``write_slice`` rows (on PostgreSQL the entities and
    history go through COPY, one INSERT ... SELECT per table)."""
    store.write_slice = SLICE
    sizes: dict[str, list[int]] = {}

    def seen(_conn: object, _cursor: object, statement: str, params: Any, _ctx: object, many: bool) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            sizes.setdefault(words[2].strip('"'), []).append(len(params) if many else 1)

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await three_polls(store)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    written = ("entities", "history_states", "history_metrics")
    if store.engine.dialect.driver == "asyncpg":
        assert {table: len(sizes[table]) for table in written} == dict.fromkeys(written, 3)  # one per poll
        written = ()
    for table in (*written, "entity_keys"):
        assert max(sizes[table]) <= SLICE, table
        assert sum(sizes[table]) > 2 * SLICE, table  # the rows were many slices, not a few


class Boom(Exception):
    pass


async def test_a_failure_after_some_slices_are_written_leaves_nothing_of_the_poll(store: Store) -> None:
    """The slices are statements of the commit's one transaction: the third write of the poll's tables failing
    (on SQLite the third slice of ``entities``) rolls back the slices before it."""
    store.write_slice = SLICE
    first = first_states()
    async with store.poll(ADV, T0) as poll:
        poll.save(first)
    before = await table_rows(store)
    writes = 0

    def fail_third(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        nonlocal writes
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"] and words[2].strip('"') in TABLES[:-1]:
            writes += 1
            if writes == 3:
                raise Boom("disk full")

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", fail_third)
    try:
        with pytest.raises(Boom):
            async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
                poll.save(next_states(first, ("a007", "g4"), (650, 645, 641)))
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", fail_third)
    after = await table_rows(store)
    assert writes == 3
    assert {k: v for k, v in after.items() if k != "polls"} == {k: v for k, v in before.items() if k != "polls"}
    assert [row[0] for row in after["polls"]] == [1, 2]  # the failed poll's record only


async def test_metrics_updates_write_the_same_rows_as_upserts(store: Store, twin: Store) -> None:
    """Rows whose metrics alone changed, updated by key on SQLite (monitor.store.poll_write), end as the upsert
    leaves them: every table the same, the entities inserted in the same order."""
    store.write_slice = twin.write_slice = SLICE
    twin.metrics_updates = False
    await three_polls(store)
    await three_polls(twin)
    assert await table_rows(store) == await table_rows(twin)


async def test_rows_whose_metrics_alone_changed_are_one_update_per_slice_on_sqlite(store: Store) -> None:
    first = first_states()
    async with store.poll(ADV, T0) as poll:
        poll.save(first)
    second = next_states(first, ("a007", "g4"), (650, 641))
    before = {s.id: s for s in first}
    fields = attrgetter(*STATE_COLUMNS)
    only_metrics = {
        s.id
        for s in second
        if s.id in before and fields(s) == fields(before[s.id]) and s.metrics != before[s.id].metrics
    }
    rows: dict[str, list[Any]] = {"INSERT": [], "UPDATE": []}  # each statement's rows of parameters

    def seen(_conn: object, _cursor: object, statement: str, params: Any, _ctx: object, many: bool) -> None:
        words = statement.split()
        if words[0] in rows and words[1 + (words[0] == "INSERT")].strip('"') == "entities":
            rows[words[0]] += params if many else [params]

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            poll.save(second)
            await poll.compare()
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    changed = {s.id for s in second if s is not before.get(s.id)} | (set(before) - {s.id for s in second})
    (run, _) = await store.polls(ADV)
    assert len(only_metrics) > 100 and run.rows_written == len(changed)
    if store.engine.dialect.name == "sqlite":  # positional: (metrics, advertiser, level, id) and the upsert's
        assert sorted(row[3] for row in rows["UPDATE"]) == sorted(only_metrics)
        # a012 paused, the gone and the new
        assert sorted(row[2] for row in rows["INSERT"]) == sorted(changed - only_metrics)
    else:  # every row upserted
        assert rows["UPDATE"] == []


async def test_a_row_not_present_at_commit_is_upserted_as_without_updates(store: Store, twin: Store) -> None:
    """The previous snapshot had the ad present with the same fields; its row says otherwise by the commit (no
    poll does that, but nothing in the store forbids it): the UPDATE misses it, and the slice's rows are upserted,
    as they are without the UPDATE."""
    twin.metrics_updates = False
    for each in (store, twin):
        first = first_states()
        async with each.poll(ADV, T0) as poll:
            poll.save(first)
        async with each.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            poll.save(next_states(first, (), ()))
            await poll.compare()
            async with writing(each.engine) as conn:
                await conn.execute(sa.text("UPDATE entities SET present = false WHERE entity_id = 'a010'"))
    mine = await table_rows(store)
    assert mine == await table_rows(twin)
    (a010,) = [row for row in mine["entities"] if row[2] == "a010"]
    assert a010[3] is True
