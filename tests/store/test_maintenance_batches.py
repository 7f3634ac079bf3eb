"""Maintenance holds the write lock a batch at a time (issue 22): gone entities go in batches, each rechecked; a
compaction batch is cut short once most of its time target is spent; batch sizes never jump past the target."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from monitor.store import Store
from monitor.store import prune as pruning
from monitor.store.compact import MIN_REST, MOST_KEYS, Budget, batched, resized
from monitor.store.db import reading, writing
from monitor.store.forget_gone import KIND, forget_batch, gone_sids
from monitor.store.history import keys_t
from monitor.store.holding import holding
from monitor.store.models import EntityRow

from .conftest import ADV, T0, Database, state

HOUR = timedelta(hours=1)


@dataclass
class Kinds(Budget):
    """A budget that remembers the kind of every transaction recorded."""

    kinds: list[str | None] = field(default_factory=list)

    def record(self, took: float, kind: str | None = None, done: int | None = None) -> None:
        self.kinds.append(kind)
        super().record(took, kind, done)


@given(
    size=st.integers(16, MOST_KEYS),
    took=st.floats(1e-6, 10.0),
    target=st.floats(0.001, 1.0),
)
def test_a_resized_batch_aims_below_its_target_and_at_most_doubles(size: int, took: float, target: float) -> None:
    new = resized(size, took, target)
    assert 16 <= new <= max(16, 2 * size)
    if took > target:
        assert new <= max(16, size)
    elif took < target / 2:
        assert new >= size or new == MOST_KEYS
        # at the cost per key just seen, the next batch is expected to take at most 70 % of the target
        assert new * took / size <= 0.7 * target + 1e-9 or new == size
    else:
        assert new == size


async def poll_at(store: Store, hours: float, ids: range) -> int:
    async with store.poll(ADV, T0 + hours * HOUR) as poll:
        poll.save([state(f"a{i}", metrics={"today": {"spend": float(hours)}}) for i in ids])
    return poll.poll_id


async def test_gone_entities_go_in_batches_and_every_kept_snapshot_stays(store: Store) -> None:
    await poll_at(store, 0, range(60))
    await poll_at(store, 1, range(10))  # a10..a59 disappear
    kept = [await poll_at(store, h, range(10)) for h in (2, 3)]
    snapshots = [await store.snapshot(ADV, p) for p in kept]
    budget = Kinds(target=1e-9)  # every batch is past the target: sizes stay at their floor of 16 keys
    budget.sizes[KIND] = 16

    report = await pruning.prune(store.engine, T0 + 2 * HOUR, budget=budget)

    assert report.entities == 50
    assert budget.kinds.count(KIND) == 4  # 16 + 16 + 16 + 2
    assert [await store.snapshot(ADV, p) for p in kept] == snapshots
    async with store.engine.connect() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(EntityRow.__table__))).scalar_one()
    assert left == 10


async def test_an_entity_back_before_its_batch_keeps_its_history(store: Store) -> None:
    await poll_at(store, 0, range(3))
    first_kept = await poll_at(store, 1, range(1))  # a1, a2 disappear
    async with reading(store.engine) as conn:
        sids = await gone_sids(conn, ADV, first_kept)
    assert len(sids) == 2
    back = await poll_at(store, 2, range(2))  # a1 is back before the batch runs

    async with writing(store.engine) as conn:
        history, entities = await forget_batch(conn, ADV, first_kept, sids)

    assert entities == 1  # a2 only
    snapshot = await store.snapshot(ADV, back)
    assert snapshot is not None and {e.id for e in snapshot.entities.values()} == {"a0", "a1"}
    assert history > 0


async def test_maintenance_in_transactions_of_one_step_each_loses_nothing(store: Store) -> None:
    polls = [await poll_at(store, n / 4, range(200)) for n in range(8)]
    kept = await store.snapshot(ADV, polls[3])  # the last of the first hour
    newest = await store.snapshot(ADV, polls[-1])
    budget = Budget(target=0.0, size=512)  # every step is past the target: one step per transaction

    report = await store.maintain(T0 + 50 * HOUR, budget)

    assert report.compacted.merged > 0
    assert budget.batches > 200 // 16  # steps of 16 keys or more, each its own transaction
    assert await store.snapshot(ADV, polls[3]) == kept
    assert await store.snapshot(ADV, polls[-1]) == newest


class Plans:
    """Every statement of one verb sent (DELETE by default), with its parameters, for EXPLAIN QUERY PLAN."""

    def __init__(self, verb: str = "DELETE") -> None:
        self.verb = verb
        self.deletes: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(self.verb):
            self.deletes.append((statement, params))


async def test_a_batch_reads_the_keys_of_its_range_not_every_key_of_the_advertiser(tmp_path: Path) -> None:
    # with 10,000 ads each statement read the advertiser's 10,000 keys through its (advertiser_id, ...) index
    store = await Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}").open()
    try:
        await poll_at(store, 0, range(100))
        keep = await poll_at(store, 1, range(100))
        plans = Plans()
        sa.event.listen(store.engine.sync_engine, "before_cursor_execute", plans)
        try:
            await batched(store.engine, ADV, keep, None, (1, 60), Budget(), "prune")
        finally:
            sa.event.remove(store.engine.sync_engine, "before_cursor_execute", plans)
        assert len(plans.deletes) >= 2
        async with store.engine.connect() as conn:
            for statement, params in plans.deletes:
                plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
                keys = [row[-1] for row in plan if "entity_keys" in row[-1]]
                assert keys and all("PRIMARY KEY" in step for step in keys), plan
    finally:
        await store.close()


def test_maintenance_rests_between_transactions_as_long_as_the_last_one_held_the_lock() -> None:
    budget = Budget()
    budget.record(0.03, "compact")
    assert budget.rest_after() == 0.03  # SQLite queues no one: a waiting poll needs a gap to get in
    budget.record(0.0)
    assert budget.rest_after() == MIN_REST
    assert Budget(rest=0.5, last=0.04).rest_after() == 0.02


def test_a_batch_cut_short_is_resized_from_the_keys_it_did() -> None:
    budget = Budget(size=4096)
    budget.record(0.001, "compact", done=100)  # quick, but only 100 keys done: not a reason to double 4,096
    assert budget.size_of("compact") == 200
    budget.record(0.001, "compact")
    assert budget.size_of("compact") == 400
    assert resized(1 << 30, 0.001, 0.04) == MOST_KEYS


class Connection:
    """A connection that runs ``hook`` after its first statement (to interleave a poll with a batch)."""

    def __init__(self, conn: Any, hook: Callable[[], Awaitable[None]]) -> None:
        self.conn, self.hook, self.statements = conn, hook, 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        result = await self.conn.execute(*args, **kwargs)
        self.statements += 1
        if self.statements == 1:
            await self.hook()
        return result


async def test_an_entity_a_poll_brings_back_during_the_batch_keeps_its_history(store: Store) -> None:
    await poll_at(store, 0, range(3))
    first_kept = await poll_at(store, 1, range(1))  # a1, a2 disappear
    async with reading(store.engine) as conn:
        sids = await gone_sids(conn, ADV, first_kept)
    sqlite = store.engine.dialect.name == "sqlite"
    back: list[int] = []

    async def poll_commits() -> None:  # PostgreSQL: a poll commits while the batch is open, after its first read
        if not sqlite:  # (SQLite: the batch holds the write lock, no poll can commit now)
            back.append(await poll_at(store, 2, range(2)))

    async with writing(store.engine) as conn:
        _, entities = await forget_batch(Connection(conn, poll_commits), ADV, first_kept, sids)  # type: ignore[arg-type]

    if sqlite:
        assert entities == 2
        return
    assert entities == 1  # a2 only: a1 is back
    snapshot = await store.snapshot(ADV, back[0])
    assert snapshot is not None and {e.id for e in snapshot.entities.values()} == {"a0", "a1"}
    assert snapshot.entities[("ad", "a1")].metric("spend") == 2.0  # type: ignore[index]


async def test_a_gone_batch_reads_entities_by_their_primary_key(tmp_path: Path) -> None:
    # joined in one statement, SQLite read every entity of the advertiser for each batch (68 ms at 20,000)
    store = await Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}").open()
    try:
        await poll_at(store, 0, range(50))
        keep = await poll_at(store, 1, range(10))
        async with reading(store.engine) as conn:
            sids = await gone_sids(conn, ADV, keep)
        plans = Plans(verb="SELECT")
        sa.event.listen(store.engine.sync_engine, "before_cursor_execute", plans)
        try:
            async with writing(store.engine) as conn:
                assert (await forget_batch(conn, ADV, keep, sids[:16]))[1] == 16
        finally:
            sa.event.remove(store.engine.sync_engine, "before_cursor_execute", plans)
        async with store.engine.connect() as conn:
            for statement, params in plans.deletes:
                plan = [row[-1] for row in (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))]
                assert not any(step.endswith("(advertiser_id=?)") for step in plan), plan
    finally:
        await store.close()


async def test_a_compaction_transaction_past_its_target_runs_one_step(store: Store) -> None:
    deletes: list[int] = [0]

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM HISTORY"):
            deletes[-1] += 1

    def committed(_conn: Any) -> None:
        deletes.append(0)

    for n in range(8):
        await poll_at(store, n / 4, range(200))
    async with reading(store.engine) as conn:
        low, high = (await conn.execute(sa.select(sa.func.min(keys_t.c.sid), sa.func.max(keys_t.c.sid)))).one()
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    sa.event.listen(store.engine.sync_engine, "commit", committed)
    try:
        await batched(store.engine, ADV, 8, None, (low, high + 1), Budget(target=0.0, size=512), "compact")
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", count)
        sa.event.remove(store.engine.sync_engine, "commit", committed)
    per_transaction = [n for n in deletes if n]
    assert per_transaction and set(per_transaction) == {2}  # one step: one DELETE per history table


async def test_no_cyclic_collection_runs_inside_a_maintenance_transaction(store: Store) -> None:
    # a young collection of a large process took 116-133 ms, inside a transaction holding SQLite's write lock
    collections: list[bool] = []

    def seen(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(True)

    gc.callbacks.append(seen)
    try:
        async with holding(store.engine) as conn:
            assert not gc.isenabled()
            await conn.execute(sa.select(sa.literal(1)))
            garbage = [[] for _ in range(50_000)]  # far past the young threshold
            for item in garbage:
                item.append(item)  # cycles only the collector frees
            del garbage
            assert collections == []
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(seen)
    with pytest.raises(RuntimeError):
        async with holding(store.engine):
            raise RuntimeError("a failed batch")
    assert gc.isenabled()
