"""Leases that survive crashes: a holder that died on this host is taken over at once, a live one is respected,
a running poll's lease is renewed by its heartbeat, and a lease outlives its holder's last heartbeat only briefly."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import SystemClock
from monitor.config import load_settings
from monitor.store import LeaseHeldError, PollStatus, Store, lease
from monitor.store.db import writing
from monitor.store.lease import ttl_for
from monitor.store.poll import begin as begin_poll
from monitor.wiring import open_store

from .conftest import ADV, T0, state

HOST = socket.gethostname()
CRASHED_TTL = timedelta(minutes=15)  # however long the dead holder meant to keep the lease


def exited_pid() -> int:
    """The pid of a process that ran and exited (reaped: no such process exists any more)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a process that runs for the length of the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


async def crashed_holder(store: Store, owner: str, at: datetime = T0) -> None:
    """What a poller does on entering a poll before it is killed: takes the lease and opens a "running" poll."""
    await begin_poll(store.engine, ADV, at, owner, CRASHED_TTL)


async def test_a_lease_of_a_process_of_this_host_that_exited_is_taken_over_at_once(store: Store) -> None:
    dead = f"{HOST}:{exited_pid()}"
    await crashed_holder(store, dead)
    async with store.poll(ADV, T0 + timedelta(seconds=1)) as poll:  # 15 minutes before the lease would expire
        poll.save([state("a1")])
    runs = await store.polls(ADV)
    assert [(r.owner, r.status) for r in runs] == [("test", PollStatus.OK), (dead, PollStatus.ABANDONED)]


async def test_a_revert_of_a_process_that_exited_is_taken_over_too(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:  # the advertiser exists
        poll.save([state("a1")])
    async with writing(store.engine) as conn:  # what `tiktok-monitor revert` does before it is killed
        await lease.take(conn, ADV, f"{HOST}:{exited_pid()} (revert)", T0, CRASHED_TTL)
    async with store.poll(ADV, T0 + timedelta(seconds=1), owner="next") as poll:
        poll.save([state("a1")])
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.OK]


@pytest.mark.parametrize("whose", ["live child", "this process", "another host"])
async def test_a_lease_of_a_live_process_or_of_another_host_is_respected(
    store: Store, live_pid: int, whose: str
) -> None:
    owner = {
        "live child": f"{HOST}:{live_pid}",
        "this process": f"{HOST}:{os.getpid()}",
        "another host": f"elsewhere.invalid:{exited_pid()}",
    }[whose]
    await crashed_holder(store, owner)
    with pytest.raises(LeaseHeldError) as refused:
        async with store.poll(ADV, T0 + timedelta(seconds=1)):
            pytest.fail("the lease of a live holder must be respected")
    assert refused.value.owner == owner
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.RUNNING]


async def test_a_lease_outlives_its_holders_last_heartbeat_by_the_short_ttl_only(store: Store) -> None:
    # a holder on another host (nothing to ask about it) took the lease with the store's TTL, then died
    assert store.lease_ttl == timedelta(seconds=60)  # the default: twice the default poll deadline, at most 60 s
    await begin_poll(store.engine, ADV, T0, "elsewhere.invalid:1", store.lease_ttl)
    with pytest.raises(LeaseHeldError):
        async with store.poll(ADV, T0 + timedelta(seconds=59)):
            pass
    async with store.poll(ADV, T0 + timedelta(seconds=60)) as poll:
        poll.save([state("a1")])
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.OK, PollStatus.ABANDONED]


def test_the_lease_ttl_follows_the_poll_deadline() -> None:
    assert ttl_for(timedelta(minutes=4)) == timedelta(seconds=60)  # interval 5m: capped at a minute
    assert ttl_for(timedelta(seconds=20)) == timedelta(seconds=40)
    assert ttl_for(timedelta(seconds=1.6)) == timedelta(seconds=10)  # interval 2s: at least 10 s


async def test_the_configured_store_takes_its_lease_ttl_from_the_poll_deadline(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[monitor]\ninterval = "30s"\npoll_timeout = "12s"\n'
    )
    store = await open_store(load_settings(config, env={}))
    try:
        assert store.lease_ttl == timedelta(seconds=24)
    finally:
        await store.close()


async def test_the_heartbeat_keeps_a_long_polls_lease(database: Any) -> None:
    ttl = timedelta(seconds=1)  # renewed every 1/3 s
    first = await database.open(SystemClock(), lease_ttl=ttl)
    second = await database.open(SystemClock(), lease_ttl=ttl)
    try:
        async with first.poll(ADV, datetime.now(UTC), owner="long") as poll:
            await asyncio.sleep(2.5 * ttl.total_seconds())  # the lease as taken has long expired
            with pytest.raises(LeaseHeldError):
                async with second.poll(ADV, datetime.now(UTC), owner="other"):
                    pytest.fail("the heartbeat must keep the lease")
            poll.save([state("a1")])
        # it commits: the lease was never lost
        assert [(r.owner, r.status) for r in await first.polls(ADV)] == [("long", PollStatus.OK)]
    finally:
        await first.close()
        await second.close()


async def test_the_heartbeat_keeps_a_reverts_lease(database: Any) -> None:
    ttl = timedelta(seconds=1)
    first = await database.open(SystemClock(), lease_ttl=ttl)
    second = await database.open(SystemClock(), lease_ttl=ttl)
    try:
        async with first.poll(ADV, datetime.now(UTC)) as poll:  # the advertiser exists
            poll.save([state("a1")])
        async with first.journal.lease(ADV, "revert", datetime.now(UTC), ttl):
            await asyncio.sleep(2.5 * ttl.total_seconds())
            with pytest.raises(LeaseHeldError):
                async with second.poll(ADV, datetime.now(UTC)):
                    pytest.fail("the heartbeat must keep the revert's lease")
        async with second.poll(ADV, datetime.now(UTC)) as poll:  # released: polls go on
            poll.save([state("a1")])
    finally:
        await first.close()
        await second.close()
