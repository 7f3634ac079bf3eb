"""A poll that read its previous snapshot before maintenance forgot a gone entity, and brings that entity back,
commits: the entity gets a new history key in the poll's transaction, one only, and its history reads back
(monitor.store.forget_gone's docstring; both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.domain import Level
from monitor.store import Store
from monitor.store.db import reading, writing
from monitor.store.forget_gone import forget_batch, gone_sids
from monitor.store.history import keys_t
from monitor.store.values import PollStatus

from .conftest import ADV, T0, latest_snapshot, state

HOUR = timedelta(hours=1)
A1 = (Level.AD, "a1")


async def poll_at(store: Store, hours: float, ids: range) -> int:
    async with store.poll(ADV, T0 + hours * HOUR) as poll:
        poll.save([state(f"a{i}", metrics={"today": {"spend": float(hours)}}) for i in ids])
    return poll.poll_id


async def gone_after_two_polls(store: Store) -> tuple[int, list[int]]:
    """a0..a2 polled, then a0 only: a1 and a2 are gone as of the second poll; (that poll, the gone keys)."""
    await poll_at(store, 0, range(3))
    first_kept = await poll_at(store, 1, range(1))
    async with reading(store.engine) as conn:
        sids = await gone_sids(conn, ADV, first_kept)
    assert len(sids) == 2
    return first_kept, sids


async def keys_of_a1(store: Store) -> list[int]:
    async with reading(store.engine) as conn:
        query = sa.select(keys_t.c.sid).where(keys_t.c.advertiser_id == ADV, keys_t.c.entity_id == "a1")
        return list((await conn.execute(query)).scalars())


async def assert_a1_back_in(store: Store, back: int) -> None:
    """The poll ``back`` is recorded ok, a1 has one key (SQLite may give it its forgotten number again), and the
    current snapshot and that of ``back`` (rebuilt from the history, once a later poll made it not the newest)
    hold a1 at that poll's values."""
    [run] = [run for run in await store.polls(ADV) if run.id == back]
    assert run.status is PollStatus.OK and run.errors == ()
    assert len(await keys_of_a1(store)) == 1
    current = await latest_snapshot(store, ADV)
    assert current is not None and current.entities[A1].metric("spend") == 2.0  # type: ignore[index]
    await poll_at(store, 3, range(1))  # a1 gone again: the snapshot of `back` is read from the history
    snapshot = await store.snapshot(ADV, back)
    assert snapshot is not None and set(snapshot.entities) == {(Level.AD, "a0"), A1}
    assert snapshot.entities[A1].metric("spend") == 2.0  # type: ignore[index]


@pytest.mark.parametrize(("fingerprints", "compared"), [(False, False), (True, False), (True, True)])
async def test_a_poll_that_read_before_a_batch_brings_a_forgotten_entity_back(
    store: Store, fingerprints: bool, compared: bool
) -> None:
    first_kept, sids = await gone_after_two_polls(store)
    async with store.poll(ADV, T0 + 2 * HOUR, fingerprints=fingerprints) as poll:  # its previous snapshot read
        async with writing(store.engine) as conn:
            assert await forget_batch(conn, ADV, first_kept, sids) == (8, 2)  # a1's history and key are gone
        assert await keys_of_a1(store) == []
        poll.save([state(f"a{i}", metrics={"today": {"spend": 2.0}}) for i in range(2)])  # a1 is back
        if compared:  # as the pipeline does before the rules
            await poll.compare()
    await assert_a1_back_in(store, poll.poll_id)


class Pausing:
    """A connection that runs ``pause`` after its ``at``-th statement (a poll's commit then meets the batch)."""

    def __init__(self, conn: Any, at: int, pause: Callable[[], Awaitable[None]]) -> None:
        self.conn, self.at, self.pause, self.statements = conn, at, pause, 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        result = await self.conn.execute(*args, **kwargs)
        self.statements += 1
        if self.statements == self.at:
            await self.pause()
        return result


async def test_a_poll_committing_while_a_batch_forgets_its_entity_writes_it_after(store: Store) -> None:
    # the batch has read the keys and locked the gone entities' rows (PostgreSQL: FOR UPDATE; SQLite: the write
    # lock) when the poll, which read its previous snapshot before, commits: its commit waits for the batch to end
    first_kept, sids = await gone_after_two_polls(store)
    locked = asyncio.Event()

    async def hold_the_lock() -> None:
        locked.set()
        await asyncio.sleep(0.3)  # the poll's commit starts meanwhile and waits

    async def forget() -> tuple[int, int]:
        async with writing(store.engine) as conn:
            return await forget_batch(Pausing(conn, 2, hold_the_lock), ADV, first_kept, sids)  # type: ignore[arg-type]

    async with store.poll(ADV, T0 + 2 * HOUR) as poll:
        batch = asyncio.create_task(forget())
        await locked.wait()
        poll.save([state(f"a{i}", metrics={"today": {"spend": 2.0}}) for i in range(2)])
    assert await batch == (8, 2)  # the batch forgot a1 before the poll wrote it
    await assert_a1_back_in(store, poll.poll_id)
