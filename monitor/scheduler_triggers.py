"""When the scheduler's jobs run on APScheduler: each advertiser's poll job at its phase of the interval
(:mod:`monitor.phases`), the periodic jobs (discovery, outbox, maintenance), and when the earliest poll job runs next
(what :class:`~monitor.scheduler.Scheduler` logs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.durations import format_duration
from monitor.phases import EPOCH, phase_offset
from monitor.scheduler_jobs import POLL_JOB

__all__ = ["add_periodic", "add_poll_job", "first_poll", "poll_trigger"]


def poll_trigger(advertiser_id: str, interval: timedelta) -> IntervalTrigger:
    """Every ``interval``, at the advertiser's phase of it."""
    # start_date in the past: APScheduler fires at start_date + n * interval, i.e. at the advertiser's phase.
    # No APScheduler jitter: the phases already spread the load, and in 3.x an interval trigger measures
    # each next time from the jittered previous one, so phases would random-walk into each other.
    return IntervalTrigger(
        seconds=interval.total_seconds(),
        start_date=EPOCH + phase_offset(advertiser_id, interval),
        timezone=UTC,
    )


def add_poll_job(
    aps: AsyncIOScheduler,
    run_poll: Callable[[str], Awaitable[None]],
    advertiser_id: str,
    interval: timedelta,
    misfire_grace: timedelta,
) -> None:
    """The advertiser's poll job ``poll:<advertiser_id>``: one run at a time, missed runs collapsed into one, a run
    later than ``misfire_grace`` skipped."""
    aps.add_job(
        run_poll,
        poll_trigger(advertiser_id, interval),
        args=[advertiser_id],
        id=POLL_JOB + advertiser_id,
        name=f"poll {advertiser_id}",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, round(misfire_grace.total_seconds())),
    )


def add_periodic(
    aps: AsyncIOScheduler, name: str, func: Callable[[], Awaitable[None]], every: timedelta, *, now: bool
) -> None:
    """The job ``name`` every ``every``: first at once (``now``), else after one period."""
    # (APScheduler reads next_run_time=None as "paused": no next_run_time at all for the first run after a period)
    first = {"next_run_time": datetime.now(UTC)} if now else {}
    aps.add_job(
        func,
        IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
        id=name,
        name=name,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, round(every.total_seconds())),
        **first,
    )


def first_poll(aps: AsyncIOScheduler) -> str:
    """``; first poll at 04:52:10 UTC (in 3m12s)``: when the earliest poll job runs (each has its phase); empty
    without poll jobs."""
    times = [
        job.next_run_time for job in aps.get_jobs() if job.id.startswith(POLL_JOB) and job.next_run_time is not None
    ]
    if not times:
        return ""
    first = min(times)
    wait = timedelta(seconds=max(0, round((first - datetime.now(UTC)).total_seconds())))
    return f"; first poll at {first:%H:%M:%S} UTC (in {format_duration(wait)})"
