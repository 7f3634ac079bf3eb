"""The per-advertiser lease: two pollers of one advertiser never interleave."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from monitor.store import LeaseHeldError, LeaseLostError, PollStatus, Store

from .conftest import ADV, T0, latest_snapshot, state


async def test_a_second_poller_is_refused_while_the_first_holds_the_lease(store: Store, database: Any) -> None:
    other = await database.open()
    try:
        async with store.poll(ADV, T0, owner="replica-a") as poll:
            with pytest.raises(LeaseHeldError) as refused:
                async with other.poll(ADV, T0 + timedelta(seconds=30), owner="replica-b"):
                    pytest.fail("the second poller must not get in")
            poll.save([state("a1")])
        assert refused.value.owner == "replica-a"
        assert refused.value.advertiser_id == ADV
        assert refused.value.expires_at == T0 + store.lease_ttl
        assert "being polled by replica-a" in str(refused.value)
        # the refused poller wrote nothing, not even a poll record
        assert [r.owner for r in await store.polls(ADV)] == ["replica-a"]
        # once released, the other poller gets in
        async with other.poll(ADV, T0 + timedelta(minutes=1), owner="replica-b") as poll:
            assert poll.previous is not None and poll.previous.poll_id == (await store.polls(ADV))[-1].id
    finally:
        await other.close()


async def test_other_advertisers_are_not_blocked(store: Store) -> None:
    async with store.poll(ADV, T0), store.poll("7000000000000000002", T0) as second:
        second.save([state("a1", advertiser_id="7000000000000000002")])


async def test_an_expired_lease_can_be_taken_over_and_the_old_holder_cannot_commit(store: Store) -> None:
    slow = store.poll(ADV, T0, owner="slow", ttl=timedelta(minutes=1))
    slow_poll = await slow.__aenter__()
    slow_poll.save([state("a1", name="from the slow poller")])
    with pytest.raises(LeaseHeldError):
        async with store.poll(ADV, T0 + timedelta(seconds=59), owner="fast"):
            pass
    async with store.poll(ADV, T0 + timedelta(minutes=1), owner="fast") as fast:
        fast.save([state("a1", name="from the fast poller")])
    with pytest.raises(LeaseLostError, match="taken over"):
        await slow.__aexit__(None, None, None)
    latest = await latest_snapshot(store, ADV)
    assert latest is not None and latest.get("ad", "a1").name == "from the fast poller"  # type: ignore[union-attr]
    statuses = {r.owner: r.status for r in await store.polls(ADV)}
    assert statuses == {"slow": PollStatus.FAILED, "fast": PollStatus.OK}
    advertiser = await store.advertiser(ADV)  # the late failure does not overwrite the newer poll's result
    assert advertiser is not None and advertiser.last_poll_status is PollStatus.OK


async def test_racing_pollers_exactly_one_wins(database: Any) -> None:
    stores = [await database.open() for _ in range(4)]
    everyone_else_tried = asyncio.Event()
    refused = 0
    try:

        async def attempt(i: int) -> str:
            nonlocal refused
            try:
                async with stores[i].poll(ADV, T0, owner=f"p{i}") as poll:
                    # hold the lease until the others have tried (a second winner would wait here and time out)
                    await asyncio.wait_for(everyone_else_tried.wait(), timeout=10)
                    poll.save([state("a1")])
                return "won"
            except LeaseHeldError:
                refused += 1
                if refused == 3:
                    everyone_else_tried.set()
                return "refused"

        results = await asyncio.gather(*(attempt(i) for i in range(4)))
        assert sorted(results) == ["refused", "refused", "refused", "won"]
    finally:
        for s in stores:
            await s.close()
