"""The database's own health: when it is a problem (pure), how ``/healthz`` and ``/metrics`` show it, sizes as
people write them, and one ``storage_full`` problem for every advertiser (told once, recovered once)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from polling import ToldMessages

from monitor.bytesize import format_size, parse_size
from monitor.clock import FrozenClock
from monitor.domain import OpsKind, OpsState
from monitor.fullstore import STORAGE_SUBJECT, FullStore
from monitor.health import HealthState, health_status
from monitor.metrics import Metrics
from monitor.notify.ops import OpsPolicy
from monitor.notify.problems import ProblemBook
from monitor.polls import PollOutcome, PollResult
from monitor.storage import StorageWatch, lock_problem, storage_problem
from monitor.store.size import StorageSize
from monitor.store.writelock import WriteLockWatch

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
GB = 1000**3
FULL = OpsState(OpsKind.STORAGE_FULL, STORAGE_SUBJECT, T0, detail="database or disk is full: x")


@pytest.mark.parametrize(
    ("text", "size"),
    [("1GB", GB), ("500 MB", 500 * 1000**2), ("2GiB", 2 * 1024**3), ("1.5kB", 1500), ("0", 0), ("42b", 42)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "1 GBytes", "-1GB", "1e9"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a size like"):
        parse_size(text)


def test_format_size() -> None:
    assert (format_size(1_500_000_000), format_size(999), format_size(2048)) == ("1.5 GB", "999 B", "2.0 kB")


@pytest.mark.parametrize(
    ("size", "full", "min_free", "expected"),
    [
        (StorageSize("sqlite", 10**6, 5 * GB), None, GB, None),
        (StorageSize("sqlite", 10**6, GB), None, GB, None),  # exactly the threshold: not below it
        (StorageSize("sqlite", 10**6, GB - 1), None, GB, "database disk nearly full: 1000.0 MB free, below"),
        (StorageSize("sqlite", 10**6, 0), None, 0, None),  # min_free 0: the check is off
        (StorageSize("postgresql", 10**9, None), None, GB, None),  # free space unknown: not a problem
        (None, None, GB, None),  # not measured yet
        (StorageSize("sqlite", 10**6, 5 * GB), FULL, GB, "database full since 2026-12-06 06:00 UTC"),
    ],
)
def test_storage_problem(size: StorageSize | None, full: OpsState | None, min_free: int, expected: str | None) -> None:
    problem = storage_problem(size, full, min_free)
    assert (problem is None) is (expected is None), problem
    if expected is not None:
        assert problem is not None and problem.startswith(expected)


def test_healthz_is_degraded_by_the_database_and_says_why_first() -> None:
    clock = FrozenClock(T0)
    state = HealthState(clock=clock, interval=timedelta(minutes=1))
    state.set_advertisers(["a"])
    clock.advance(10)
    state.poll_done(PollOutcome("a", PollResult.OK, seconds=0.1))
    assert health_status(state, clock.now(), state.interval)[1]["status"] == "ok"
    state.storage_done("database disk nearly full: 1.0 MB free", {"free_bytes": 10**6})
    healthy, details = health_status(state, clock.now(), state.interval)
    assert (healthy, details["status"]) == (True, "degraded")
    assert details["reason"].startswith("database disk nearly full: 1.0 MB free; ")
    assert details["storage"] == {"free_bytes": 10**6}
    clock.advance(3600)  # nothing polled for an hour: failing, and the database is named first
    healthy, details = health_status(state, clock.now(), state.interval)
    assert (healthy, details["status"]) == (False, "failing")
    assert details["reason"].startswith("database disk nearly full")


def test_metrics_export_free_disk_only_when_known() -> None:
    metrics = Metrics()
    metrics.set_storage(StorageSize("postgresql", 123, None), full=True)
    get = metrics.registry.get_sample_value
    assert get("tiktok_monitor_database_bytes", {"backend": "postgresql"}) == 123
    assert get("tiktok_monitor_database_free_bytes", {"backend": "postgresql"}) is None
    assert get("tiktok_monitor_database_full") == 1
    metrics.set_storage(StorageSize("sqlite", 456, 789), full=False)
    assert get("tiktok_monitor_database_free_bytes", {"backend": "sqlite"}) == 789
    assert get("tiktok_monitor_database_full") == 0


async def test_the_watch_measures_at_most_once_a_minute() -> None:
    clock = FrozenClock(T0)
    sizes = iter([StorageSize("sqlite", 1, 10), StorageSize("sqlite", 2, 9)])
    measured: list[StorageSize] = []

    async def measure() -> StorageSize:
        measured.append(next(sizes))
        return measured[-1]

    watch = StorageWatch(measure, clock=clock, min_free=5)
    assert await watch.refresh() and watch.size == StorageSize("sqlite", 1, 10)
    clock.advance(59)
    assert not await watch.refresh() and len(measured) == 1
    clock.advance(1)
    assert await watch.refresh() and watch.details()["database_bytes"] == 2


async def test_a_full_store_is_told_once_for_every_advertiser_and_recovers_when_none_fails() -> None:
    told = ToldMessages()
    full = FullStore(ProblemBook(STORAGE_SUBJECT, OpsPolicy(), recorder=told))
    await full.failed("big", T0, "database or disk is full")
    await full.failed("other", T0, "database or disk is full")
    await full.stored("small", T0 + timedelta(seconds=5))  # a small poll still fits: nothing is cleared
    await full.failed("big", T0 + timedelta(seconds=10), "database or disk is full")
    assert [(m.kind, m.recovered) for m in told.messages] == [(OpsKind.STORAGE_FULL, False)]
    assert full.state is not None and full.state.since == T0
    await full.stored("big", T0 + timedelta(seconds=20))
    assert full.state is not None  # "other" has not stored yet
    await full.stored("other", T0 + timedelta(seconds=30))
    assert [(m.kind, m.recovered) for m in told.messages] == [
        (OpsKind.STORAGE_FULL, False),
        (OpsKind.STORAGE_FULL, True),
    ]
    assert full.state is None


class SlowlyTold(ToldMessages):
    """A recorder whose write takes a moment, as the database's does: the other pollers run meanwhile."""

    async def record(self, *args: Any) -> None:
        await asyncio.sleep(0.01)
        await super().record(*args)


async def test_advertisers_that_meet_a_full_store_at_once_tell_it_once() -> None:
    told = SlowlyTold()
    full = FullStore(ProblemBook(STORAGE_SUBJECT, OpsPolicy(), recorder=told))
    await asyncio.gather(*(full.failed(advertiser, T0, "database or disk is full") for advertiser in "abc"))
    assert [(m.kind, m.recovered) for m in told.messages] == [(OpsKind.STORAGE_FULL, False)]
    await asyncio.gather(*(full.stored(advertiser, T0 + timedelta(seconds=5)) for advertiser in "abc"))
    assert [m.recovered for m in told.messages] == [False, True]


@pytest.mark.parametrize(
    ("locked_for", "expected"),
    [
        (None, None),  # writes go through
        (timedelta(seconds=30), None),  # exactly the limit: not beyond it
        (timedelta(seconds=31), "database locked since 2026-12-06 06:00 UTC, every write of this process fails"),
    ],
)
def test_lock_problem(locked_for: timedelta | None, expected: str | None) -> None:
    now = T0 + (locked_for or timedelta())
    problem = lock_problem(None if locked_for is None else T0, "database is locked", now, timedelta(seconds=30))
    assert (problem is None) is (expected is None), problem
    if expected is not None:
        assert problem is not None and problem.startswith(expected)
        assert "fails (database is locked) for 31s: a connection keeps the database's write lock" in problem
        # the lock leads: it is why the rest fails
        assert storage_problem(None, FULL, GB, problem) == problem


def test_healthz_says_when_every_write_has_failed_for_a_lock_for_two_intervals() -> None:
    clock = FrozenClock(T0)
    interval = timedelta(seconds=15)
    lock = WriteLockWatch(clock)
    watch = StorageWatch(_never_measured, clock=clock, min_free=0, write_lock=lock, locked_after=2 * interval)
    state = HealthState(clock=clock, interval=interval)
    state.set_advertisers(["a"])
    state.poll_done(PollOutcome("a", PollResult.OK, seconds=0.1))

    lock.failed("database is locked")
    lock.failed("no such table: x")  # another error: neither starts nor ends the streak
    clock.advance(20)
    lock.failed("database is locked\n[SQL: BEGIN IMMEDIATE]")
    state.storage_done(watch.problem, watch.details())
    assert health_status(state, clock.now(), interval)[1]["status"] == "ok"  # 20 s: within two intervals
    clock.advance(11)
    state.storage_done(watch.problem, watch.details())
    healthy, details = health_status(state, clock.now(), interval)
    assert (healthy, details["status"]) == (False, "failing")  # and nothing polled for two intervals either
    assert details["reason"].startswith("database locked since 2026-12-06 06:00 UTC, every write of this process")
    assert details["storage"]["locked_since"] == T0.isoformat()

    lock.written()  # a write went through: the lock is had again
    state.storage_done(watch.problem, watch.details())
    assert health_status(state, clock.now(), interval)[1]["storage"]["problem"] is None


async def _never_measured() -> StorageSize:
    raise AssertionError("not measured in this test")
