"""The poll deadline falls while the poll's COMMIT runs: one truth (on SQLite and PostgreSQL).

Once sent, a COMMIT cannot be called back: SQLite runs it in aiosqlite's thread, which a cancellation cannot stop,
and PostgreSQL commits what it received. These tests have the database commit the poll's final transaction and
its answer come late (a slow disk or network: :class:`LateCommit`, an engine event, nothing patched), or the
COMMIT wait in aiosqlite's thread, and let the deadline fall meanwhile. A COMMIT that landed is a good poll, told
and recorded as one; one that failed is a failed poll with nothing of it written; the next poll does nothing twice.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from slow_commits import CommitHook, final_poll_write
from sqlalchemy.util import await_only

from monitor.clock import FrozenClock
from monitor.poller import AdvertiserPoller
from monitor.polls import PollResult
from monitor.store import PollStatus, Store

from .conftest import ADV, BACKENDS, MakePoller, latest_snapshot, queued_messages

DEADLINE = timedelta(seconds=2)  # the fetch and store of the small world fit in it on a loaded CI machine
LATE = 4.0  # seconds the COMMIT's answer takes (or it is held): the deadline falls meanwhile, with time to spare


class LateCommit(CommitHook):
    """The next poll's final transaction (the one that records its outcome on the advertiser) is committed by the
    database at once and its answer reaches the poll ``seconds`` later; ``fails``: instead, after ``seconds`` the
    COMMIT fails and nothing is written. Listens to the engine's events; disarmed after one COMMIT."""

    def __init__(self, engine: Any, seconds: float = LATE, *, fails: bool = False) -> None:
        self.seconds, self.fails, self.landed = seconds, fails, False
        super().__init__(engine)

    def picks(self, statement: str) -> bool:
        return final_poll_write(statement)

    def at_commit(self, dbapi: Any) -> None:
        if self.fails:
            await_only(asyncio.sleep(self.seconds))
            dbapi.rollback()
            raise sa.exc.OperationalError("COMMIT", None, OSError("disk I/O error"))
        dbapi.commit()  # the database has it (SQLAlchemy's own COMMIT that follows finds nothing left to do) ...
        self.landed = True
        await_only(asyncio.sleep(self.seconds))  # ... and the poll hears of it later


@pytest.fixture
def poller(make_poller: MakePoller, store: Store) -> AdvertiserPoller:
    return make_poller(store, DEADLINE)


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_a_commit_that_landed_after_the_deadline_is_a_good_poll(
    poller: AdvertiserPoller, store: Store, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    late = LateCommit(store.engine)
    try:
        polled = await poller.poll()
    finally:
        late.remove()
    assert late.landed
    # what the database holds: the poll, its snapshot, alert states and messages
    record = (await store.polls(ADV))[0]
    snapshot = await latest_snapshot(store, ADV)
    alerts = await store.alerts.load(ADV)
    messages = await queued_messages(store, clock)
    advertiser = await store.advertiser(ADV)
    assert snapshot is not None and snapshot.poll_id == record.id and len(snapshot.entities) > 0
    assert alerts and messages > 0
    # ... and what the poll says of itself, everywhere: the same
    assert polled.result is PollResult.OK, polled.reason
    assert polled.consecutive_failures == 0
    assert record.status is PollStatus.OK, record.errors
    assert advertiser is not None and advertiser.last_poll_status is PollStatus.OK
    assert "ran past its deadline (2s) but committed" in caplog.text  # said, as a warning: the poll overran

    clock.advance(60)  # the next poll reads that snapshot and queues nothing twice
    after = await poller.poll()
    assert after.result is PollResult.OK, after.reason
    assert await queued_messages(store, clock) == messages
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.OK]


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_a_commit_that_failed_after_the_deadline_is_a_failed_poll_with_nothing_written(
    poller: AdvertiserPoller, store: Store, clock: FrozenClock
) -> None:
    late = LateCommit(store.engine, fails=True)
    try:
        polled = await poller.poll()
    finally:
        late.remove()
    assert polled.result is PollResult.FAILED
    assert polled.reason == "PollTimeoutError: poll timed out after 2s in stage commit"
    record = (await store.polls(ADV))[0]
    assert record.status is PollStatus.FAILED
    assert await latest_snapshot(store, ADV) is None
    assert await store.alerts.load(ADV) == {}
    assert await queued_messages(store, clock) == 0
    advertiser = await store.advertiser(ADV)
    assert advertiser is not None and advertiser.last_poll_status is PollStatus.FAILED

    clock.advance(60)  # the next poll writes it all, once
    after = await poller.poll()
    assert after.result is PollResult.OK, after.reason
    assert await store.alerts.load(ADV)
    assert await queued_messages(store, clock) > 0
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.FAILED]


class ThreadHold(LateCommit):
    """Holds aiosqlite's thread of the connection that commits the next poll's final transaction: a job queued
    there just before the COMMIT waits for :meth:`release` (a COMMIT stuck behind a slow disk)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.gate = threading.Event()

    def _hold(self, dbapi: Any) -> None:
        worker = dbapi._connection  # the aiosqlite.Connection: its queue runs one job at a time, in order
        worker._tx.put_nowait((None, lambda: self.gate.wait(30)))

    def release(self) -> None:
        self.gate.set()


@pytest.mark.parametrize("database", [b for b in BACKENDS if b.id == "sqlite"], indirect=True)
async def test_a_commit_held_in_aiosqlites_thread_past_the_deadline_is_waited_for(
    poller: AdvertiserPoller, store: Store, clock: FrozenClock
) -> None:
    hold = ThreadHold(store.engine)
    try:
        polling = asyncio.create_task(poller.poll())
        await asyncio.sleep(LATE)  # the deadline falls while the COMMIT waits
        hold.release()
        polled = await asyncio.wait_for(polling, 30)
    finally:
        hold.release()
        hold.remove()
    record = (await store.polls(ADV))[0]
    assert polled.result is PollResult.OK, polled.reason
    assert record.status is PollStatus.OK, record.errors
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None and snapshot.poll_id == record.id
    assert await queued_messages(store, clock) > 0


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_after_a_commit_that_landed_late_the_next_polls_read_it_and_run(
    poller: AdvertiserPoller, store: Store, clock: FrozenClock
) -> None:
    # before: the poll recorded failed left its rows as the snapshot of the poll before it, and every later poll
    # failed with LeaseLostError (the history had no texts of that poll for its rows): the advertiser froze
    assert (await poller.poll()).result is PollResult.OK
    clock.advance(60)
    late = LateCommit(store.engine)
    try:
        polled = await poller.poll()
    finally:
        late.remove()
    assert polled.result is PollResult.OK, polled.reason
    held = (await store.polls(ADV))[0]
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None and snapshot.poll_id == held.id and snapshot.taken_at == clock.now()
    for _ in range(2):
        clock.advance(60)
        after = await poller.poll()
        assert after.result is PollResult.OK, after.reason
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK] * 4


@pytest.mark.parametrize("database", [b for b in BACKENDS if b.id == "postgres"], indirect=True)
async def test_a_commit_the_server_does_not_answer_in_time_is_let_go_and_said_unknown(
    poller: AdvertiserPoller, store: Store, clock: FrozenClock
) -> None:
    store.record_failure_timeout = 0.5  # how long the cancelled poll waits for its COMMIT
    late = LateCommit(store.engine, seconds=3 * LATE)  # answered long after the deadline and that wait
    try:
        polled = await poller.poll()
    finally:
        late.remove()
    assert polled.result is PollResult.FAILED
    assert polled.reason == (
        "PollTimeoutError: poll timed out after 2s in stage commit: its COMMIT had not ended 0.5s after the "
        "cancellation: whether it was written is unknown"
    )
    assert polled.seconds < 2 * LATE  # let go, not waited out
    # no failure was written over it: its record says what the database did (here: committed)
    record = (await store.polls(ADV))[0]
    assert record.status is PollStatus.OK
    clock.advance(60)
    after = await poller.poll()
    assert after.result is PollResult.OK, after.reason
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.OK]
