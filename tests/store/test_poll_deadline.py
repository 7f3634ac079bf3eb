"""The poll deadline: a poll that hangs is cancelled at ``poll_timeout``, fails naming the stage it was in, is
recorded as failed with nothing of it committed, and the next poll runs (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.clock import FrozenClock
from monitor.poller import AdvertiserPoller
from monitor.polls import PollResult
from monitor.sandbox import Fault, Sandbox
from monitor.store import PollStatus, Store
from monitor.store.db import normalize_url

from .conftest import ADV, BACKENDS, MakePoller, latest_snapshot, queued_messages

DEADLINE = timedelta(seconds=2)  # the fetch and store of the small world fit in it on a loaded CI machine
HANG = 4.0  # seconds the sandbox sits on the request: far past the deadline


@pytest.fixture
def poller(make_poller: MakePoller, store: Store) -> AdvertiserPoller:
    return make_poller(store, DEADLINE)


async def test_a_hung_poll_is_cancelled_recorded_as_failed_and_the_next_one_runs(
    poller: AdvertiserPoller, store: Store, sandbox: Sandbox, clock: FrozenClock
) -> None:
    first = await poller.poll()
    assert first.result is PollResult.OK, first.reason
    before = await latest_snapshot(store, ADV)
    outbox_before = await queued_messages(store, clock)

    sandbox.faults.add(Fault(kind="slow", delay=HANG, path="campaign/get/"))
    clock.advance(60)
    hung = await poller.poll()
    assert hung.result is PollResult.FAILED
    assert hung.reason == "PollTimeoutError: poll timed out after 2s in stage fetch"
    assert hung.consecutive_failures == 1
    assert hung.seconds < HANG  # cut short, not waited out

    # recorded as failed, naming the stage; nothing of it committed
    record = (await store.polls(ADV))[0]
    assert record.status is PollStatus.FAILED
    assert "cancelled in stage fetch" in record.errors
    assert await latest_snapshot(store, ADV) == before
    assert await queued_messages(store, clock) == outbox_before
    advertiser = await store.advertiser(ADV)
    assert advertiser is not None and advertiser.last_poll_status is PollStatus.FAILED

    clock.advance(60)  # the next poll runs: the lease was given back
    after = await poller.poll()
    assert after.result is PollResult.OK, after.reason
    assert after.consecutive_failures == 0
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.FAILED, PollStatus.OK]


async def test_a_poll_stuck_on_a_locked_database_is_cancelled_and_the_next_one_runs(
    make_poller: MakePoller, database: Any, clock: FrozenClock
) -> None:
    # SQLite waits for its lock in a thread that a cancellation cannot interrupt: the poll ends when the busy
    # timeout does (30 s in production); PostgreSQL cancels the statement at the deadline
    store = await database.open(clock, busy_timeout=2.0)
    try:
        await _stuck_then_next(make_poller(store, DEADLINE), store, database, clock)
    finally:
        await store.close()


async def _stuck_then_next(poller: AdvertiserPoller, store: Store, database: Any, clock: FrozenClock) -> None:
    first = await poller.poll()
    assert first.result is PollResult.OK, first.reason
    # another connection holds the write lock (SQLite) / the leases table (PostgreSQL): taking the lease waits
    engine = create_async_engine(normalize_url(database.url))
    async with engine.connect() as conn:
        if database.backend == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.exec_driver_sql(f'LOCK TABLE "{database.schema}".leases IN ACCESS EXCLUSIVE MODE')
        clock.advance(60)
        stuck = await asyncio.wait_for(poller.poll(), 30)  # without a deadline it would wait for the lock
        await conn.rollback()
    await engine.dispose()
    assert stuck.result is PollResult.FAILED
    assert stuck.reason == "PollTimeoutError: poll timed out after 2s in stage start"
    clock.advance(60)
    after = await poller.poll()
    assert after.result is PollResult.OK, after.reason
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.OK]


@pytest.fixture
async def lock(database: Any) -> Any:
    """Locks what a poll writes from another connection: SQLite's write lock, PostgreSQL's leases table."""
    engine = create_async_engine(normalize_url(database.url))
    conn = await engine.connect()

    async def take() -> None:
        if database.backend == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.exec_driver_sql(f'LOCK TABLE "{database.schema}".leases IN ACCESS EXCLUSIVE MODE')

    async def release() -> None:
        await conn.rollback()

    yield take, release
    await conn.close()
    await engine.dispose()


async def start_poll_and_lock_its_commit(poller: AdvertiserPoller, sandbox: Sandbox, take: Any) -> asyncio.Task[Any]:
    """Start a poll whose fetch is slowed down just long enough to lock the database under it: its commit waits."""
    sandbox.faults.add(Fault(kind="slow", delay=0.5, path="campaign/get/"))
    arrived = len(sandbox.arrivals)
    task = asyncio.create_task(poller.poll())
    while not any(a.path == "campaign/get/" for a in sandbox.arrivals[arrived:]):  # noqa: ASYNC110 - a list
        await asyncio.sleep(0.01)
    await take()
    return task


async def test_a_poll_stuck_in_its_commit_is_cancelled_in_stage_commit(
    make_poller: MakePoller, database: Any, sandbox: Sandbox, clock: FrozenClock, lock: Any
) -> None:
    take, release = lock
    store = await database.open(clock, busy_timeout=5.0)
    try:
        poller = make_poller(store, DEADLINE)
        assert (await poller.poll()).result is PollResult.OK
        clock.advance(60)
        polling = await start_poll_and_lock_its_commit(poller, sandbox, take)
        await asyncio.sleep(DEADLINE.total_seconds() + 1.5)  # the deadline passes while the commit waits
        await release()
        stuck = await asyncio.wait_for(polling, 30)
        assert stuck.result is PollResult.FAILED
        assert stuck.reason == "PollTimeoutError: poll timed out after 2s in stage commit"
        clock.advance(60)
        after = await poller.poll()
        assert after.result is PollResult.OK, after.reason
        assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.FAILED, PollStatus.OK]
    finally:
        await store.close()


@pytest.mark.parametrize("database", [b for b in BACKENDS if b.id == "postgres"], indirect=True)
async def test_a_cancelled_poll_ends_even_while_the_database_hangs(
    make_poller: MakePoller, database: Any, sandbox: Sandbox, clock: FrozenClock, lock: Any
) -> None:
    take, release = lock
    store = await database.open(clock)
    store.record_failure_timeout = 1.0
    try:
        poller = make_poller(store, DEADLINE)
        assert (await poller.poll()).result is PollResult.OK
        clock.advance(60)
        polling = await start_poll_and_lock_its_commit(poller, sandbox, take)
        stuck = await asyncio.wait_for(polling, 30)  # the lock is still held: the failure cannot be recorded
        await release()
        assert stuck.result is PollResult.FAILED
        assert stuck.reason == "PollTimeoutError: poll timed out after 2s in stage commit"
        clock.advance(60)
        after = await poller.poll()
        assert after.result is PollResult.OK, after.reason
        # the record left "running" was marked abandoned by the next poll
        assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.ABANDONED, PollStatus.OK]
    finally:
        await store.close()
