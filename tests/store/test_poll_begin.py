"""What a poll writes around its snapshot (issue 18: the fixed cost of every advertiser's poll): its lease and its
record, and the advertiser's row only when the store does not know it to exist; polls of a holder whose lease was
taken over are marked abandoned, and only then is there any to mark."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from monitor.store import PollStatus, Store
from monitor.store.poll import begin as begin_poll
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0, state, statement_log

MINUTE = timedelta(minutes=1)


async def test_a_poll_after_one_that_ended_writes_its_lease_its_record_and_nothing_else(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("1")])
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0 + MINUTE) as poll:
            poll.save([state("1")])  # unchanged: no entity or history row
    assert log.writes() == {
        ("INSERT", "leases"): 1,  # no lease was left: taken with one INSERT, no running poll to abandon
        ("INSERT", "polls"): 1,
        ("DELETE", "leases"): 1,  # the commit's fence
        ("UPDATE", "polls"): 1,
        ("UPDATE", "advertisers"): 1,
    }
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.OK]


async def test_the_advertisers_row_is_inserted_by_a_poll_only_when_the_store_does_not_know_it(
    store: Store, database: Any
) -> None:
    other = await database.open()  # another process: it has not seen the row
    try:
        await store.upsert_advertisers([AdvertiserInfo(ADV, "Shop", "UTC", "USD", "STATUS_ENABLE")], T0)
        with statement_log(store.engine) as log:
            async with store.poll(ADV, T0) as poll:
                poll.save([state("1")])
        assert log.count("INSERT", "advertisers") == 0  # this store wrote it
        with statement_log(other.engine) as log:
            async with other.poll(ADV, T0 + MINUTE) as poll:
                poll.save([state("1")])
            async with other.poll(ADV, T0 + 2 * MINUTE) as poll:
                poll.save([state("1")])
        assert log.count("INSERT", "advertisers") == 1  # its first poll; its second knows
        record = await other.advertiser(ADV)
        assert record is not None and record.name == "Shop" and record.last_poll_status is PollStatus.OK
    finally:
        await other.close()


async def test_a_poll_that_takes_over_an_expired_lease_abandons_its_holders_poll(store: Store) -> None:
    # what entering a poll does; its process dies before the block ends: the lease is never given back
    await begin_poll(store.engine, ADV, T0, "crashed", timedelta(seconds=10))
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0 + MINUTE, owner="replica-b") as poll:
            poll.save([state("1")])
    assert log.count("UPDATE", "polls") == 2  # the holder's poll abandoned, then this one's ended
    assert [(r.owner, r.status) for r in await store.polls(ADV)] == [
        ("replica-b", PollStatus.OK),
        ("crashed", PollStatus.ABANDONED),
    ]


async def test_a_poll_left_running_is_abandoned_by_whoever_takes_its_lease_over(store: Store) -> None:
    """A poller dies mid-poll; a revert (the journal's lease) takes the expired lease over and gives it back; the
    next poll finds no lease: the dead poll's record says abandoned all the same (review of the one-INSERT take)."""
    await begin_poll(store.engine, ADV, T0, "otherhost:1", timedelta(seconds=10))  # dies holding the lease
    async with store.journal.lease(ADV, "otherhost:2 (revert)", T0 + MINUTE, timedelta(seconds=30)):
        pass
    async with store.poll(ADV, T0 + 2 * MINUTE) as poll:
        poll.save([state("1")])
    assert [(r.owner, r.status) for r in await store.polls(ADV)] == [
        (store.owner, PollStatus.OK),
        ("otherhost:1", PollStatus.ABANDONED),
    ]


async def test_what_a_poll_found_of_smart_plus_is_in_the_advertisers_row_for_any_process(
    store: Store, database: Any
) -> None:
    # issue 18, item 4: a poll's ad reports guess Smart+ from the latest committed poll's finding (advertisers.
    # smart_plus; the pipeline reads it when its process has not polled the advertiser), not only from memory
    async def stored(of: Store) -> bool | None:
        record = await of.advertiser(ADV)
        assert record is not None
        return record.smart_plus

    async with store.poll(ADV, T0) as poll:
        poll.save([state("1")])
    assert await stored(store) is None  # never known
    async with store.poll(ADV, T0 + MINUTE) as poll:
        poll.save([state("1")])
        poll.note_smart_plus(True)
    other = await database.open()  # another process (a `once` beside `run`)
    try:
        assert await stored(other) is True
        async with other.poll(ADV, T0 + 2 * MINUTE) as poll:
            poll.save([state("1")])
            poll.note_smart_plus(None)  # could not tell: what was known stays
        assert await stored(other) is True
        async with other.poll(ADV, T0 + 3 * MINUTE) as poll:
            poll.save([state("1")])
            poll.note_smart_plus(False)
        assert await stored(store) is False
        with contextlib.suppress(RuntimeError):
            async with store.poll(ADV, T0 + 4 * MINUTE) as poll:
                poll.note_smart_plus(True)
                raise RuntimeError("the rules failed")  # a failed poll writes none of what it found
        assert await stored(store) is False
    finally:
        await other.close()
