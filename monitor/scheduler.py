"""When things run: the daemon's jobs on APScheduler 3.x (AsyncIOScheduler), and what happens around each job;
the work itself is in the injected callables (poll, discover, send_outbox, maintain).

Jobs:

* ``poll:<advertiser_id>``, one per advertiser, every ``interval``. Each advertiser has a fixed phase within
  the interval (:func:`phase_offset`, a hash of its id measured from the Unix epoch), so 50 advertisers spread
  over the interval instead of bursting, and keep their slots across restarts and discovery changes.
  ``max_instances=1`` and ``coalesce=True``: a slow poll never overlaps itself and missed runs collapse into one;
  a run later than ``misfire_grace`` (default half an interval) is skipped. Skipped polls go to the skip listeners
  and are logged once per streak (a WARNING, then DEBUG until the advertiser's polls keep up again).
* ``discover`` (optional): at start and every ``discover_interval``; its list replaces the polled advertisers,
  except that a failed discovery, or an empty answer while advertisers are known, keeps polling the known ones.
* ``outbox`` every ``outbox_interval`` and ``maintenance`` every ``maintenance_interval`` (both optional), first
  after one period.

A poll returns its :class:`~monitor.polls.PollOutcome` (ok, paused or failed): the per-advertiser boundary
(:class:`~monitor.poller.AdvertiserPoller`) has already caught, counted, logged and told its failure. The
scheduler hands each outcome to its listeners (health, metrics), which are plain callables and must not block.
A poll callable that raises anyway is a bug: it is logged with its traceback and reported as failed, and it
never delays another advertiser. A failing outbox, maintenance or discovery job is logged once per failure streak
with a traceback only for an unexpected error.

:meth:`Scheduler.shutdown` stops starting jobs, waits for the running ones up to a limit (then cancels them) and,
when they all finished in time, runs the outbox job once more.

The phases are :mod:`monitor.phases` (re-exported here); when each job runs on APScheduler (triggers, job
options) is :mod:`monitor.scheduler_triggers`; what happens around each job (listeners, failure streaks, skips,
tracking for shutdown) is :mod:`monitor.scheduler_jobs`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.clock import Clock, SystemClock
from monitor.durations import format_duration
from monitor.phases import EPOCH, next_poll_at, phase_offset
from monitor.polls import PollOutcome
from monitor.scheduler_jobs import POLL_JOB, JobRunner, call_listener, describe_error, quiet_apscheduler_skips
from monitor.scheduler_triggers import add_periodic, add_poll_job, first_poll

logger = logging.getLogger(__name__)

__all__ = ["EPOCH", "PollListener", "Scheduler", "SkipListener", "next_poll_at", "phase_offset"]

#: Gets each poll's outcome.
PollListener = Callable[[PollOutcome], None]
#: ``(advertiser_id, reason)`` for a poll that was due but did not run.
SkipListener = Callable[[str, str], None]


class Scheduler(JobRunner):
    """Runs ``poll(advertiser_id)`` for each advertiser every ``interval``, plus outbox, maintenance and discovery.

    ``advertiser_ids`` are polled from :meth:`start`; with ``discover``, its answer (at start, then every
    ``discover_interval``) replaces them. After each poll every ``on_poll_done`` listener gets its
    :class:`~monitor.polls.PollOutcome`; a poll that did not run (still running, or too late) goes to
    ``on_poll_skipped`` listeners as ``(advertiser_id, reason)``; each change of the advertiser set goes to
    ``on_advertisers`` listeners as the sorted list; each discovery's result to ``on_discovery`` listeners (its
    error as ``"ClassName: message"``, or None when it worked).
    """

    def __init__(
        self,
        *,
        poll: Callable[[str], Awaitable[PollOutcome]],
        interval: timedelta,
        advertiser_ids: Iterable[str] = (),
        discover: Callable[[], Awaitable[Iterable[str]]] | None = None,
        discover_interval: timedelta = timedelta(hours=1),
        send_outbox: Callable[[], Awaitable[object]] | None = None,
        outbox_interval: timedelta = timedelta(seconds=5),
        maintain: Callable[[], Awaitable[object]] | None = None,
        maintenance_interval: timedelta = timedelta(hours=1),
        on_poll_done: Sequence[PollListener] = (),
        on_poll_skipped: Sequence[SkipListener] = (),
        on_advertisers: Sequence[Callable[[list[str]], None]] = (),
        on_discovery: Sequence[Callable[[str | None], None]] = (),
        clock: Clock | None = None,
        misfire_grace: timedelta | None = None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._poll = poll
        self._interval = interval
        self._advertisers: list[str] = list(dict.fromkeys(advertiser_ids))
        self._discover = discover
        self._discover_interval = discover_interval
        self._send_outbox = send_outbox
        self._outbox_interval = outbox_interval
        self._maintain = maintain
        self._maintenance_interval = maintenance_interval
        self._on_poll_done = list(on_poll_done)
        self._on_poll_skipped = list(on_poll_skipped)
        self._on_advertisers = list(on_advertisers)
        self._on_discovery = list(on_discovery)
        self._clock = clock or SystemClock()
        self._misfire_grace = misfire_grace
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_listener(self._on_not_run, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        quiet_apscheduler_skips()  # _on_not_run tells skipped polls, once per streak: not APScheduler each time
        self._tasks: set[asyncio.Task[object]] = set()  # every job running now, for shutdown
        self._polling: set[str] = set()  # advertisers whose poll is running now
        self._again: set[str] = set()  # advertisers to poll once more when their running poll ends
        self._failing: dict[str, str] = {}  # "poll of advertiser 1", "outbox job" -> error class of the streak
        self._skip_streaks: dict[str, int] = {}  # advertiser -> its polls skipped since its polls last kept up
        self._started = False
        self._stopping = False

    # --- public ------------------------------------------------------------------------------------------------

    @property
    def advertiser_ids(self) -> list[str]:
        """The advertisers polled now, sorted."""
        return sorted(self._advertisers)

    def polls(self, advertiser_id: str) -> bool:
        """Whether the advertiser is among those polled now."""
        return advertiser_id in self._advertisers

    @property
    def running(self) -> bool:
        return self._started and not self._stopping

    def start(self) -> None:
        """Start scheduling; call from a running event loop. Discovery, when set, runs at once."""
        if self._started:
            raise RuntimeError("Scheduler already started")
        self._aps.start()
        self._started = True
        ids, self._advertisers = self._advertisers, []
        self.set_advertisers(ids)
        if self._discover is not None:
            add_periodic(self._aps, "discover", self._run_discover, self._discover_interval, now=True)
        if self._send_outbox is not None:
            add_periodic(
                self._aps, "outbox", self._guarded("outbox", self._send_outbox), self._outbox_interval, now=False
            )
        if self._maintain is not None:
            add_periodic(
                self._aps,
                "maintenance",
                self._guarded("maintenance", self._maintain),
                self._maintenance_interval,
                now=False,
            )
        logger.info(
            "scheduler started: %d advertiser(s) every %s%s",
            len(self._advertisers),
            format_duration(self._interval),
            "" if self._advertisers else " (the advertisers come from the discovery)",
        )

    def poll_soon(self, advertiser_ids: Iterable[str]) -> None:
        """Poll these advertisers at once, outside their phase (SIGHUP's re-check of paused ones). One already
        polling is skipped, as a due poll would be."""
        if not self.running:
            return
        loop = asyncio.get_running_loop()
        for advertiser_id in advertiser_ids:
            if advertiser_id in self._advertisers:
                self._track(loop.create_task(self._run_poll(advertiser_id), name=f"poll-soon:{advertiser_id}"))

    def poll_extra(self, advertiser_id: str) -> None:
        """Poll the advertiser now, outside its phase (monitor.pollsoon: a REPORT_DATA_CHANGE notice, adaptive
        polling). While its poll runs, exactly one more runs right after it (never two at once, and a burst of
        asks while it runs makes one). An advertiser not polled here is ignored."""
        if self.running and advertiser_id in self._advertisers:
            loop = asyncio.get_running_loop()
            self._track(loop.create_task(self._run_poll(advertiser_id, extra=True), name=f"poll-extra:{advertiser_id}"))

    def send_outbox_soon(self) -> None:
        """Run the outbox job now instead of at its next period (a poll queued messages: they leave at once, not
        up to ``outbox_interval`` later). A run in progress is not doubled: APScheduler's one instance."""
        if self.running and self._send_outbox is not None and self._aps.get_job("outbox") is not None:
            self._aps.modify_job("outbox", next_run_time=datetime.now(UTC))

    @property
    def interval(self) -> timedelta:
        """How often each advertiser is polled now."""
        return self._interval

    def set_interval(self, interval: timedelta) -> None:
        """Poll every ``interval`` from now on (a reloaded configuration): each advertiser moves to its phase of
        the new interval; running polls finish."""
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._interval = interval
        if self._started and not self._stopping:
            for advertiser_id in self._advertisers:
                self._aps.remove_job(POLL_JOB + advertiser_id)
                self._add_poll_job(advertiser_id)
            logger.info("polling every %s from now on%s", format_duration(interval), first_poll(self._aps))

    def set_advertisers(self, advertiser_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Poll exactly these advertisers from now on; returns ``(added, removed)``. Running polls finish."""
        wanted = list(dict.fromkeys(advertiser_ids))
        added = [a for a in wanted if a not in self._advertisers]
        removed = [a for a in self._advertisers if a not in wanted]
        self._advertisers = wanted
        if self._started:
            for advertiser_id in removed:
                self._aps.remove_job(POLL_JOB + advertiser_id)
                self._skip_streaks.pop(advertiser_id, None)  # polled again later: a new streak, told again
            for advertiser_id in added:
                self._add_poll_job(advertiser_id)
            if added or removed:
                first = first_poll(self._aps) if len(added) == len(wanted) and self._aps.running else ""
                logger.info("advertisers: %d polled, added %s, removed %s%s", len(wanted), added, removed, first)
            for listener in self._on_advertisers:
                call_listener(listener, sorted(wanted))
        return added, removed

    async def shutdown(self, wait_seconds: float = 30.0) -> None:
        """Stop starting jobs, wait up to ``wait_seconds`` for running ones (then cancel them), stop APScheduler.

        When every job finished in time, the outbox gets one last run within what is left of the limit, so the
        notifications of the last polls are not held back until the next start.
        """
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._aps.pause()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        pending = self._running_tasks()
        if pending:
            logger.info("waiting up to %.0fs for %d running jobs", wait_seconds, len(pending))
            _, pending = await asyncio.wait(pending, timeout=wait_seconds)
        if not pending and self._send_outbox is not None and deadline > loop.time():
            flush = loop.create_task(self._guarded("outbox", self._send_outbox, final=True)())
            _, pending = await asyncio.wait({flush}, timeout=deadline - loop.time())
        if pending:
            logger.warning("cancelling %d jobs still running after %.0fs", len(pending), wait_seconds)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=1.0)
        self._aps.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the next loop iteration
        logger.info("scheduler stopped")

    # --- jobs ----------------------------------------------------------------------------------------------------

    def _add_poll_job(self, advertiser_id: str) -> None:
        add_poll_job(
            self._aps, self._run_poll, advertiser_id, self._interval, self._misfire_grace or self._interval / 2
        )

    async def _run_discover(self) -> None:
        if self._discover is None or self._stopping:
            return
        self._track(asyncio.current_task())
        try:
            found = [str(a) for a in await self._discover()]
        except Exception as exc:
            logger.warning(
                "advertiser discovery failed, still polling %d advertisers: %s",
                len(self._advertisers),
                describe_error(exc),
            )
            for listener in self._on_discovery:
                call_listener(listener, describe_error(exc))
            return
        for listener in self._on_discovery:
            call_listener(listener, None)
        if not found and self._advertisers:
            # an empty answer is more likely a hiccup than every account gone at once: keep polling what we had
            logger.warning(
                "advertiser discovery found no advertisers: still polling the %d known ones", len(self._advertisers)
            )
            return
        if not found:
            logger.warning("advertiser discovery found no advertisers: the token reaches none")
        if not self._stopping:
            self.set_advertisers(found)
