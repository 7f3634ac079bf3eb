"""Skipped polls through the real scheduler: every skip goes to the skip listeners; the log tells a streak once (a
WARNING of the monitor's, DEBUG after it) and APScheduler's own WARNING for each skipped poll job is not printed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from scheduling import wait_until

from monitor.polls import PollOutcome, PollResult
from monitor.scheduler import Scheduler

INTERVAL = timedelta(seconds=0.2)


class Skips:
    """The reasons the skip listener got, and the log records that matter here."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.reasons: list[str] = []
        self._caplog = caplog

    def __call__(self, advertiser_id: str, reason: str) -> None:
        self.reasons.append(reason)

    def told(self, level: int) -> list[str]:
        """The monitor's lines about skipped polls at ``level``."""
        records = self._caplog.records
        return [r.getMessage() for r in records if r.name == "monitor.scheduler" and r.levelno == level]

    def by_apscheduler(self) -> list[str]:
        return [r.getMessage() for r in self._caplog.records if r.name.startswith("apscheduler")]


@pytest.fixture
def skips(caplog: pytest.LogCaptureFixture) -> Skips:
    caplog.set_level(logging.DEBUG, logger="monitor.scheduler")  # APScheduler's WARNINGs reach caplog as they are
    return Skips(caplog)


@pytest.fixture
def make_scheduler(skips: Skips, start_scheduler: Callable[..., Scheduler]) -> Callable[..., Scheduler]:
    def make(poll: Callable[[str], Awaitable[None]], **kwargs: object) -> Scheduler:
        async def run(advertiser_id: str) -> PollOutcome:
            await poll(advertiser_id)
            return PollOutcome(advertiser_id, PollResult.OK)

        kwargs.setdefault("interval", INTERVAL)
        return start_scheduler(poll=run, on_poll_skipped=[skips], **kwargs)

    return make


async def test_a_streak_of_skipped_polls_is_told_once_by_the_monitor_and_again_after_it_ended(
    make_scheduler: Callable[..., Scheduler], skips: Skips
) -> None:
    running = asyncio.Event()  # set: polls run through; clear: a poll waits for it (a slow advertiser)

    async def poll(advertiser_id: str) -> None:
        await running.wait()

    make_scheduler(poll, advertiser_ids=["slow"])
    await wait_until(lambda: len(skips.reasons) >= 3)
    [warning] = skips.told(logging.WARNING)
    assert warning == (
        "poll of advertiser slow skipped: previous poll still running (interval 0.2s); more skips of it are logged "
        "at debug level until its polls keep up again"
    )
    assert (
        "poll of advertiser slow skipped: previous poll still running (3 since its polls last kept up)"
        in skips.told(logging.DEBUG)
    )
    assert skips.by_apscheduler() == []  # its "maximum number of running instances reached", once per skip: dropped

    running.set()  # the held poll ends (its streak goes on: skips came while it ran), the next runs through
    await wait_until(lambda: any("keep up again" in line for line in skips.told(logging.INFO)))
    [ended] = [line for line in skips.told(logging.INFO) if "keep up again" in line]
    assert ended == f"polls of advertiser slow keep up again ({len(skips.reasons)} skipped)"
    assert len(skips.told(logging.WARNING)) == 1

    running.clear()  # slow again: a new streak, told again
    await wait_until(lambda: len(skips.told(logging.WARNING)) == 2)
    running.set()
    assert skips.by_apscheduler() == []


async def test_a_poll_run_too_late_is_told_by_the_monitor_not_by_apschedulers_executor(
    make_scheduler: Callable[..., Scheduler], skips: Skips
) -> None:
    async def poll(advertiser_id: str) -> None:
        return None

    # APScheduler's grace is whole seconds (at least 1); the next run, 3 s later, is not due yet when the loop is free
    scheduler = make_scheduler(
        poll, advertiser_ids=["late"], interval=timedelta(seconds=3), misfire_grace=timedelta(seconds=1)
    )
    job = scheduler._aps.get_job("poll:late")
    assert job is not None
    due: datetime = job.next_run_time
    # woken 0.1 s before APScheduler's own timer (the loop runs timers in order, however late), then the event loop
    # blocked: the poll would start 1.5 s late, past its 1 s of grace
    await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds() - 0.1, 0))
    time.sleep(1.6)  # noqa: ASYNC251 - on purpose
    await wait_until(lambda: "missed its time" in skips.reasons)
    assert skips.told(logging.WARNING) == [
        "poll of advertiser late skipped: missed its time (interval 3s); more skips of it are logged at debug level "
        "until its polls keep up again"
    ]
    assert skips.by_apscheduler() == []  # its executor's "Run time of job ... was missed by ...": dropped


async def test_apschedulers_other_warnings_still_show(
    make_scheduler: Callable[..., Scheduler], skips: Skips, caplog: pytest.LogCaptureFixture
) -> None:
    async def nothing() -> None:
        return None

    scheduler = make_scheduler(nothing, advertiser_ids=["1"], send_outbox=nothing, outbox_interval=timedelta(hours=1))
    aps = logging.getLogger("apscheduler.scheduler")
    skipped = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'
    with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        aps.warning(skipped, scheduler._aps.get_job("poll:1"), 1)  # a poll job's: the monitor tells it
        aps.warning(skipped, scheduler._aps.get_job("outbox"), 1)  # the outbox's: the monitor does not
        aps.warning("Error getting due jobs from job store %r: %s", "default", "disk I/O error")
    shown = skips.by_apscheduler()
    assert len(shown) == 2
    assert shown[0].startswith('Execution of job "outbox (trigger: interval[1:00:00]')
    assert shown[1] == "Error getting due jobs from job store 'default': disk I/O error"
