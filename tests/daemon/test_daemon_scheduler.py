"""The scheduler in real time with short intervals: phases, isolation of failures, no overlap, discovery, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from scheduling import as_poller, wait_until

from monitor.errors import MonitorError
from monitor.polls import PollOutcome
from monitor.scheduler import EPOCH, Scheduler, next_poll_at, phase_offset
from monitor.scheduler_triggers import poll_trigger

INTERVAL = timedelta(seconds=0.3)


@dataclass
class Recorder:
    """Collects what the scheduler reports and what the injected jobs saw."""

    done: list[tuple[str, bool, float, str | None]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    advertisers: list[list[str]] = field(default_factory=list)
    started: list[tuple[str, datetime]] = field(default_factory=list)

    def poll_done(self, outcome: PollOutcome) -> None:
        self.done.append((outcome.advertiser_id, outcome.ok, outcome.seconds, outcome.reason))

    def poll_skipped(self, advertiser_id: str, reason: str) -> None:
        self.skipped.append((advertiser_id, reason))

    def ok_count(self, advertiser_id: str) -> int:
        return sum(1 for a, ok, _, _ in self.done if a == advertiser_id and ok)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_scheduler(start_scheduler: Callable[..., Scheduler], recorder: Recorder) -> Callable[..., Scheduler]:
    """Start a scheduler whose listeners feed ``recorder`` (the test's poll through :func:`as_poller`)."""

    def make(**kwargs: object) -> Scheduler:
        kwargs.setdefault("interval", INTERVAL)
        kwargs["poll"] = as_poller(kwargs["poll"])  # type: ignore[arg-type]
        return start_scheduler(
            on_poll_done=[recorder.poll_done],
            on_poll_skipped=[recorder.poll_skipped],
            on_advertisers=[recorder.advertisers.append],
            **kwargs,
        )

    return make


def due(scheduler: Scheduler, advertiser_id: str) -> datetime | None:
    """When APScheduler runs the advertiser's poll job next (None: the advertiser has no poll job)."""
    job = scheduler._aps.get_job(f"poll:{advertiser_id}")
    return None if job is None else job.next_run_time


async def test_a_new_interval_moves_every_poll_to_its_phase_of_that_interval(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    """SIGHUP with a new [monitor] interval (issue 15): polls follow it at once, each at its phase."""

    async def poll(advertiser_id: str) -> None:
        return None

    ids = ["7000000000000000001", "7000000000000000002"]
    scheduler = make_scheduler(poll=poll, interval=timedelta(days=1), advertiser_ids=ids)
    shorter = timedelta(seconds=60)
    scheduler.set_interval(shorter)
    now = datetime.now(UTC)
    for advertiser_id in ids:
        when = due(scheduler, advertiser_id)
        assert when is not None and now - timedelta(seconds=1) <= when < now + shorter
        assert (when - EPOCH) % shorter == phase_offset(advertiser_id, shorter)


# --- phases (pure) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [timedelta(seconds=2), timedelta(minutes=5), timedelta(hours=1)])
def test_next_poll_at_is_when_the_poll_job_fires_next(interval: timedelta) -> None:
    now = datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=UTC)
    for i in range(20):
        advertiser_id = f"70000000000000000{i:02d}"
        trigger = poll_trigger(advertiser_id, interval)  # the job's own trigger (APScheduler's arithmetic)
        on_time = EPOCH + phase_offset(advertiser_id, interval) + interval * 300_000  # exactly a firing time
        for moment in (now, now + interval * 7 / 3, on_time):
            fires = trigger.get_next_fire_time(None, moment)
            assert next_poll_at(advertiser_id, interval, moment) == fires
            assert moment <= fires < moment + interval


def test_phase_offset_is_stable_and_inside_the_interval() -> None:
    interval = timedelta(minutes=5)
    offsets = {f"70000000000000000{i:02d}": phase_offset(f"70000000000000000{i:02d}", interval) for i in range(50)}
    assert all(timedelta(0) <= o < interval for o in offsets.values())
    assert offsets == {a: phase_offset(a, interval) for a in offsets}  # a function of the id alone
    assert len(set(offsets.values())) == 50


def test_fifty_advertisers_spread_over_the_interval_instead_of_bursting() -> None:
    interval = timedelta(minutes=5)
    ids = [str(7_000_000_000_000_000_000 + i) for i in range(50)]
    tenths = Counter(int(phase_offset(a, interval) / interval * 10) for a in ids)
    assert len(tenths) == 10, tenths  # every tenth of the interval has polls
    assert max(tenths.values()) <= 10, tenths  # and none has a fifth of them (an even share is 5)


async def test_each_poll_job_is_due_at_its_advertisers_phase(make_scheduler: Callable[..., Scheduler]) -> None:
    async def poll(advertiser_id: str) -> None:
        return None

    interval = timedelta(seconds=60)  # long: nothing runs during the test, only the schedule is checked
    ids = ["7000000000000000001", "7000000000000000002", "7000000000000000003"]
    scheduler = make_scheduler(poll=poll, interval=interval, advertiser_ids=ids)
    now = datetime.now(UTC)
    for advertiser_id in ids:
        when = due(scheduler, advertiser_id)
        assert when is not None
        assert now - timedelta(seconds=1) <= when < now + interval
        phase = (when - EPOCH) % interval
        assert abs(phase - phase_offset(advertiser_id, interval)) < timedelta(milliseconds=1)


async def test_polls_repeat_every_interval_at_their_phase(
    make_scheduler: Callable[..., Scheduler], recorder: Recorder
) -> None:
    async def poll(advertiser_id: str) -> None:
        recorder.started.append((advertiser_id, datetime.now(UTC)))

    ids = ["1", "2"]
    make_scheduler(poll=poll, advertiser_ids=ids)
    await wait_until(lambda: all(recorder.ok_count(a) >= 3 for a in ids))
    for advertiser_id in ids:
        times = [t for a, t in recorder.started if a == advertiser_id]
        for moment in times:
            late = ((moment - EPOCH) - phase_offset(advertiser_id, INTERVAL)) % INTERVAL
            assert late < timedelta(seconds=0.1), (advertiser_id, late)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(abs(g - INTERVAL) < timedelta(seconds=0.1) for g in gaps), gaps


# --- isolation ---------------------------------------------------------------------------------------------------


async def test_a_failing_advertiser_never_stops_the_others(
    make_scheduler: Callable[..., Scheduler], recorder: Recorder
) -> None:
    async def poll(advertiser_id: str) -> None:
        if advertiser_id == "bad":
            raise ValueError("boom from the bad account")

    make_scheduler(poll=poll, advertiser_ids=["good-1", "bad", "good-2"])
    await wait_until(lambda: sum(1 for a, *_ in recorder.done if a == "bad") >= 3)
    await wait_until(lambda: recorder.ok_count("good-1") >= 3 and recorder.ok_count("good-2") >= 3)

    failures = [d for d in recorder.done if d[0] == "bad"]
    assert all(not ok and error == "ValueError: boom from the bad account" for _, ok, _, error in failures)


async def test_a_poll_that_raises_is_a_failed_outcome_with_its_traceback(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    async def poll(advertiser_id: str) -> PollOutcome:  # breaks the contract: a poll returns its outcome
        raise ValueError("a bug in the poll")

    scheduler = Scheduler(poll=poll, interval=INTERVAL, advertiser_ids=["1", "2"], on_poll_done=[recorder.poll_done])
    scheduler.start()
    try:
        with caplog.at_level(logging.WARNING, logger="monitor.scheduler"):
            await wait_until(lambda: len(recorder.done) >= 4)
    finally:
        await scheduler.shutdown(1.0)
    assert {(a, ok, error) for a, ok, _, error in recorder.done} == {
        ("1", False, "ValueError: a bug in the poll"),
        ("2", False, "ValueError: a bug in the poll"),
    }
    raised = [r for r in caplog.records if "raised" in r.getMessage()]
    assert raised and all(r.exc_info for r in raised)


async def test_a_failing_listener_does_not_break_polling(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("listener bug")

    async def poll(advertiser_id: str) -> None:
        return None

    scheduler = Scheduler(
        poll=as_poller(poll), interval=INTERVAL, advertiser_ids=["1"], on_poll_done=[broken, recorder.poll_done]
    )
    scheduler.start()
    try:
        with caplog.at_level(logging.ERROR, logger="monitor.scheduler"):
            await wait_until(lambda: recorder.ok_count("1") >= 2)
    finally:
        await scheduler.shutdown(1.0)
    assert any("listener" in r.getMessage() for r in caplog.records)


async def test_a_slow_poll_never_overlaps_itself(make_scheduler: Callable[..., Scheduler], recorder: Recorder) -> None:
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()

    async def poll(advertiser_id: str) -> None:
        running[advertiser_id] += 1
        most[advertiser_id] = max(most[advertiser_id], running[advertiser_id])
        try:
            await asyncio.sleep(0.5 if advertiser_id == "slow" else 0)
        finally:
            running[advertiser_id] -= 1

    make_scheduler(poll=poll, interval=timedelta(seconds=0.2), advertiser_ids=["slow", "fast"])
    await wait_until(lambda: recorder.ok_count("slow") >= 2, within=4)
    assert most["slow"] == 1
    assert recorder.ok_count("fast") >= 4  # the slow one never held the fast one back
    assert ("slow", "previous poll still running") in recorder.skipped


# --- discovery -------------------------------------------------------------------------------------------------


async def test_discovery_adds_and_removes_poll_jobs(
    make_scheduler: Callable[..., Scheduler], recorder: Recorder
) -> None:
    answers = [["1", "2"], ["2", "3"]]
    calls = 0

    async def discover() -> list[str]:
        nonlocal calls
        calls += 1
        return answers[min(calls, len(answers)) - 1]

    async def poll(advertiser_id: str) -> None:
        return None

    scheduler = make_scheduler(poll=poll, discover=discover, discover_interval=timedelta(seconds=0.6))
    await wait_until(lambda: scheduler.advertiser_ids == ["1", "2"])  # discovery ran at start
    assert due(scheduler, "1") is not None and due(scheduler, "3") is None
    await wait_until(lambda: scheduler.advertiser_ids == ["2", "3"])
    assert due(scheduler, "1") is None and due(scheduler, "3") is not None
    assert recorder.advertisers[:3] == [[], ["1", "2"], ["2", "3"]]
    await wait_until(lambda: recorder.ok_count("3") >= 1)


async def test_failed_discovery_keeps_polling_the_known_advertisers(
    make_scheduler: Callable[..., Scheduler], recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    async def discover() -> list[str]:
        raise MonitorError("oauth2/advertiser/get failed")

    async def poll(advertiser_id: str) -> None:
        return None

    with caplog.at_level(logging.WARNING, logger="monitor.scheduler"):
        scheduler = make_scheduler(poll=poll, advertiser_ids=["1"], discover=discover)
        await wait_until(lambda: recorder.ok_count("1") >= 2)
    assert scheduler.advertiser_ids == ["1"]
    assert any("discovery failed" in r.getMessage() for r in caplog.records)


async def test_an_empty_discovery_answer_keeps_polling_the_known_advertisers(
    make_scheduler: Callable[..., Scheduler], recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [["1"], []]
    calls = 0

    async def discover() -> list[str]:
        nonlocal calls
        calls += 1
        return answers[min(calls, len(answers)) - 1]

    async def poll(advertiser_id: str) -> None:
        return None

    with caplog.at_level(logging.WARNING, logger="monitor.scheduler"):
        scheduler = make_scheduler(poll=poll, discover=discover, discover_interval=timedelta(seconds=0.3))
        await wait_until(lambda: calls >= 3)
        await wait_until(lambda: recorder.ok_count("1") >= 2)
    assert scheduler.advertiser_ids == ["1"]
    assert any("still polling the 1 known" in r.getMessage() for r in caplog.records)


# --- outbox, prune -------------------------------------------------------------------------------------------


async def test_outbox_and_prune_run_periodically_and_survive_errors(
    make_scheduler: Callable[..., Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    runs: Counter[str] = Counter()

    async def poll(advertiser_id: str) -> None:
        return None

    async def send_outbox() -> None:
        runs["outbox"] += 1
        if runs["outbox"] == 1:
            raise MonitorError("slack is down")

    async def prune() -> None:
        runs["prune"] += 1

    with caplog.at_level(logging.WARNING, logger="monitor.scheduler"):
        make_scheduler(
            poll=poll,
            send_outbox=send_outbox,
            outbox_interval=timedelta(seconds=0.1),
            maintain=prune,
            maintenance_interval=timedelta(seconds=0.2),
        )
        await wait_until(lambda: runs["outbox"] >= 3 and runs["prune"] >= 2)
    assert any(r.getMessage() == "outbox job failed: MonitorError: slack is down" for r in caplog.records)


# --- shutdown --------------------------------------------------------------------------------------------------


async def test_shutdown_waits_for_running_polls_then_stops(recorder: Recorder) -> None:
    started = asyncio.Event()
    polls = 0

    async def poll(advertiser_id: str) -> None:
        nonlocal polls
        polls += 1
        started.set()
        await asyncio.sleep(0.5)

    flushed = 0

    async def send_outbox() -> None:
        nonlocal flushed
        flushed += 1

    scheduler = Scheduler(
        poll=as_poller(poll),
        interval=INTERVAL,
        advertiser_ids=["1"],
        send_outbox=send_outbox,
        outbox_interval=timedelta(hours=1),
        on_poll_done=[recorder.poll_done],
    )
    scheduler.start()
    await asyncio.wait_for(started.wait(), 2)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await scheduler.shutdown(wait_seconds=3)
    assert 0.2 < loop.time() - begun < 1.5
    assert [(a, ok) for a, ok, _, _ in recorder.done] == [("1", True)]  # finished, not cancelled
    assert flushed == 1  # one last outbox run after the polls
    assert not scheduler.running
    await asyncio.sleep(2 * INTERVAL.total_seconds())
    assert polls == 1  # nothing new started


async def test_shutdown_cancels_what_outlives_the_limit(recorder: Recorder) -> None:
    started = asyncio.Event()

    async def poll(advertiser_id: str) -> None:
        started.set()
        await asyncio.sleep(30)

    scheduler = Scheduler(
        poll=as_poller(poll), interval=INTERVAL, advertiser_ids=["1"], on_poll_done=[recorder.poll_done]
    )
    scheduler.start()
    await asyncio.wait_for(started.wait(), 2)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await scheduler.shutdown(wait_seconds=0.3)
    assert loop.time() - begun < 1.0
    assert [(a, ok, error) for a, ok, _, error in recorder.done] == [("1", False, "cancelled at shutdown")]
