"""Replicas share the advertisers through shards (monitor.store.shards): fair shares, take-over of dead replicas,
epochs that grow with every change of owner, and polls fenced on them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from monitor.clock import FrozenClock
from monitor.replicas import Replicas
from monitor.store import PollStatus, ShardLostError, Store
from monitor.store.shards import SHARD_COUNT, Assignment, fair_share, shard_of, timing

from .conftest import ADV, T0, latest_snapshot, state

TTL = timedelta(seconds=3)


def test_shards_are_a_stable_hash_and_shares_add_up() -> None:
    assert shard_of(ADV) == shard_of(ADV) and 0 <= shard_of(ADV) < SHARD_COUNT
    assert len({shard_of(str(7000000000000000000 + n)) for n in range(1000)}) == SHARD_COUNT
    for n in range(1, 8):
        replicas = [f"r{i}" for i in range(n)]
        shares = [fair_share(r, replicas) for r in replicas]
        assert sum(shares) == SHARD_COUNT and max(shares) - min(shares) <= 1
    assert fair_share("alone", []) == SHARD_COUNT
    assert timing(timedelta(minutes=5)) == (timedelta(seconds=10), timedelta(seconds=30))
    assert timing(timedelta(seconds=4)) == (timedelta(seconds=1), timedelta(seconds=3))


async def test_one_replica_owns_every_shard(store: Store) -> None:
    got = await store.shards.beat("a", T0, TTL)
    assert got.alive == ("a",) and len(got.mine) == SHARD_COUNT and set(got.mine.values()) == {1}
    again = await store.shards.beat("a", T0 + timedelta(seconds=1), TTL)
    assert again.mine == got.mine and not again.claimed and not again.released  # no change: same epochs


async def test_a_joining_replica_gets_its_share_and_epochs_grow(store: Store) -> None:
    first = await store.shards.beat("a", T0, TTL)
    joined = await store.shards.beat("b", T0, TTL)
    assert joined.mine == {} and joined.alive == ("a", "b")  # nothing free yet
    rebalanced = await store.shards.beat("a", T0 + timedelta(seconds=1), TTL)
    assert len(rebalanced.mine) == 32 and len(rebalanced.released) == 32
    claimed = await store.shards.beat("b", T0 + timedelta(seconds=1), TTL)
    assert len(claimed.mine) == 32 and set(claimed.mine).isdisjoint(rebalanced.mine)
    assert all(claimed.mine[s] == first.mine[s] + 2 for s in claimed.mine)  # released (+1), claimed (+1)
    assert all(rebalanced.mine[s] == first.mine[s] for s in rebalanced.mine)  # kept: unchanged


async def test_shards_of_polls_running_are_kept_until_a_later_beat(store: Store) -> None:
    await store.shards.beat("a", T0, TTL)
    await store.shards.beat("b", T0, TTL)
    busy = shard_of(ADV)
    kept = await store.shards.beat("a", T0 + timedelta(seconds=1), TTL, keep={busy})
    assert busy in kept.mine and len(kept.mine) == 32


async def test_a_dead_replicas_shards_are_taken_over(store: Store) -> None:
    await store.shards.beat("a", T0, TTL)
    await store.shards.beat("b", T0, TTL)
    await store.shards.beat("a", T0 + timedelta(seconds=1), TTL)
    await store.shards.beat("b", T0 + timedelta(seconds=1), TTL)
    # b stops beating; within its TTL it is still alive
    soon = await store.shards.beat("a", T0 + timedelta(seconds=3), TTL)
    assert soon.alive == ("a", "b") and len(soon.mine) == 32
    later = await store.shards.beat("a", T0 + timedelta(seconds=5), TTL)
    assert later.alive == ("a",) and len(later.mine) == SHARD_COUNT and len(later.claimed) == 32
    assert await store.shards.alive(T0 + timedelta(seconds=5), TTL) == ["a"]  # b's row was forgotten


async def test_a_replica_on_this_host_whose_process_is_gone_is_dead_at_once(store: Store) -> None:
    import socket

    gone = f"{socket.gethostname()}:{2**22 + 12345}"  # above any pid_max default: no such process
    await store.shards.beat(gone, T0, TTL)
    got = await store.shards.beat("a", T0, TTL)
    assert got.alive == ("a",) and len(got.mine) == SHARD_COUNT


async def test_leaving_releases_every_shard(store: Store) -> None:
    await store.shards.beat("a", T0, TTL)
    await store.shards.beat("b", T0, TTL)
    assert len(await store.shards.leave("a", T0)) == SHARD_COUNT
    got = await store.shards.beat("b", T0 + timedelta(seconds=1), TTL)
    assert got.alive == ("b",) and len(got.mine) == SHARD_COUNT


async def test_a_poll_commits_only_while_its_replica_owns_the_shard_at_the_epoch_it_saw(
    store: Store, database: Any
) -> None:
    mine = await store.shards.beat("a", T0, TTL)
    view: dict[str, Assignment] = {"a": mine}
    store.fence_of = lambda advertiser_id: view["a"].fence_of(advertiser_id)
    async with store.poll(ADV, T0) as poll:  # a owns the shard: commits
        poll.save([state("a1")])
    assert (await store.polls(ADV))[0].status is PollStatus.OK

    other = await database.open()
    try:
        with pytest.raises(ShardLostError, match="no longer owned by a"):
            async with store.poll(ADV, T0 + timedelta(seconds=10)) as poll:
                poll.save([state("a2")])
                # meanwhile a is taken for dead and b claims every shard (the epochs move on)
                await other.shards.beat("b", T0 + timedelta(seconds=10), TTL)
        runs = await store.polls(ADV)
        assert [r.status for r in runs] == [PollStatus.FAILED, PollStatus.OK]
        assert "ShardLostError" in runs[0].errors[-1]
        snapshot = await latest_snapshot(store, ADV)
        assert snapshot is not None and set(snapshot.entities) == {state("a1").key}  # nothing of it written

        with pytest.raises(ShardLostError):  # and a stale view is refused at the begin, before any work
            async with store.poll(ADV, T0 + timedelta(seconds=11)):
                pytest.fail("a stale owner must not begin")
        view["a"] = await store.shards.beat("a", T0 + timedelta(seconds=11), TTL)
        assert view["a"].fence_of(ADV) is None  # b owns it until a rebalance: a does not poll it
    finally:
        await other.close()


async def test_a_replica_polls_its_shards_and_nothing_once_its_last_beat_is_older_than_the_ttl(
    store: Store, clock: FrozenClock
) -> None:
    seen: list[Assignment] = []
    replica = Replicas(store.shards, "a", clock, beat=timedelta(seconds=1), ttl=TTL, on_assignment=[seen.append])
    assert not replica.owns(ADV)  # before its first beat
    await replica.beat()
    assert replica.owns(ADV) and replica.owned_shards == SHARD_COUNT and seen == [replica.assignment]
    fence = replica.fence_of(ADV)
    assert fence is not None and (fence.shard, fence.owner, fence.epoch) == (shard_of(ADV), "a", 1)
    clock.advance(TTL.total_seconds() + 0.1)  # no beat since: the others take it for dead
    assert not replica.owns(ADV) and replica.fence_of(ADV) is None
    await replica.beat()
    assert replica.owns(ADV)
    await replica.leave()
    assert not replica.owns(ADV) and await store.shards.alive(clock.now(), TTL) == []
