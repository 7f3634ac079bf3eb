"""What happens around each of the scheduler's jobs (a mixin of :class:`~monitor.scheduler.Scheduler`): a poll's
outcome handed to the listeners (a poll callable that raises is a bug: logged with its traceback, reported as
failed), a failing outbox, maintenance or discovery job logged once per failure streak, skipped polls told, and the
running jobs tracked for shutdown.

A skipped poll goes to the skip listeners every time; the log tells it once per streak: a WARNING at an
advertiser's first skip, DEBUG for the next ones, and INFO when the streak ends (a poll of the advertiser ran with
no skip of it meanwhile: its polls keep up with the interval again). APScheduler's own WARNING for each poll job it
skips or runs too late would repeat the first every interval: :func:`quiet_apscheduler_skips` drops exactly those
(:class:`SkipsToldByTheMonitor`); its other warnings still show.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent

from monitor.clock import Clock
from monitor.durations import format_duration
from monitor.errors import MonitorError
from monitor.polls import PollOutcome, PollResult

__all__ = [
    "POLL_JOB",
    "JobRunner",
    "SkipsToldByTheMonitor",
    "call_listener",
    "describe_error",
    "quiet_apscheduler_skips",
]

logger = logging.getLogger("monitor.scheduler")  # the scheduler's logger, as before it was split

POLL_JOB = "poll:"  # the prefix of a poll job's id: poll:<advertiser_id>

#: The start of APScheduler's (3.x) WARNINGs for a job that did not run: at most max_instances running
#: (apscheduler.scheduler), later than its misfire_grace_time (apscheduler.executors.<alias>).
_NOT_RUN = ('Execution of job "%s" skipped: maximum number of running instances', 'Run time of job "%s" was missed')
#: The loggers they come from: the scheduler's, and that of the executor the jobs run on (AsyncIOScheduler's default).
_NOT_RUN_LOGGERS = ("apscheduler.scheduler", "apscheduler.executors.default")


class SkipsToldByTheMonitor(logging.Filter):
    """Drops APScheduler's WARNING for a *poll* job that did not run (its record's first argument is the job): the
    monitor tells those itself, once per streak. Every other record passes, those of other jobs too; should
    APScheduler reword them, they pass and show again (nothing is lost)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(_NOT_RUN)):
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return not str(getattr(job, "id", "")).startswith(POLL_JOB)


_SKIPS_TOLD_BY_THE_MONITOR = SkipsToldByTheMonitor()


def quiet_apscheduler_skips() -> None:
    """Put :class:`SkipsToldByTheMonitor` on APScheduler's loggers (once per process: adding it again is a no-op)."""
    for name in _NOT_RUN_LOGGERS:
        logging.getLogger(name).addFilter(_SKIPS_TOLD_BY_THE_MONITOR)


class JobRunner:
    """Runs the scheduler's jobs and keeps their books; the state is :class:`~monitor.scheduler.Scheduler`'s."""

    _poll: Callable[[str], Awaitable[PollOutcome]]
    _interval: timedelta
    _clock: Clock
    _stopping: bool
    _polling: set[str]
    _again: set[str]
    _on_poll_done: list[Callable[[PollOutcome], None]]
    _on_poll_skipped: list[Callable[[str, str], None]]
    _tasks: set[asyncio.Task[object]]
    _failing: dict[str, str]
    _skip_streaks: dict[str, int]

    async def _run_poll(self, advertiser_id: str, *, extra: bool = False) -> None:
        if not self._stopping and advertiser_id in self._polling and extra:
            self._again.add(advertiser_id)  # an extra poll asked for while one runs: one more right after it
            return
        if self._stopping or advertiser_id in self._polling:
            self._skipped(advertiser_id, "stopping" if self._stopping else "previous poll still running")
            return
        self._polling.add(advertiser_id)
        skips_before = self._skip_streaks.get(advertiser_id)
        self._track(asyncio.current_task())
        started = self._clock.monotonic()
        try:
            outcome = await self._poll(advertiser_id)
        except asyncio.CancelledError:
            # only shutdown cancels a job, and this task is ours: record it and end quietly
            logger.warning("poll of advertiser %s cancelled at shutdown", advertiser_id)
            outcome = self._failed_poll(advertiser_id, started, "cancelled at shutdown")
        except Exception as exc:  # the poll callable must not raise: a bug, shown with its traceback
            logger.exception("poll of advertiser %s raised", advertiser_id)
            outcome = self._failed_poll(advertiser_id, started, describe_error(exc))
        finally:
            self._polling.discard(advertiser_id)
        self._kept_up(advertiser_id, skips_before)
        for listener in self._on_poll_done:
            call_listener(listener, outcome)
        if advertiser_id in self._again:
            self._again.discard(advertiser_id)
            if not self._stopping:
                self._track(asyncio.get_running_loop().create_task(self._run_poll(advertiser_id, extra=True)))

    def _failed_poll(self, advertiser_id: str, started: float, reason: str) -> PollOutcome:
        seconds = self._clock.monotonic() - started
        return PollOutcome(advertiser_id, PollResult.FAILED, reason=reason, consecutive_failures=1, seconds=seconds)

    def _guarded(
        self, name: str, func: Callable[[], Awaitable[object]], *, final: bool = False
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def job() -> None:
            if self._stopping and not final:
                return
            self._track(asyncio.current_task())
            try:
                await func()
            except asyncio.CancelledError:
                logger.warning("%s job cancelled at shutdown", name)
            except Exception as exc:
                self._failed(f"{name} job", exc)
            else:
                self._succeeded(f"{name} job")

        return job

    # --- bookkeeping ---------------------------------------------------------------------------------------------

    def _track(self, task: asyncio.Task[object] | None) -> None:
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _running_tasks(self) -> set[asyncio.Task[object]]:
        current = asyncio.current_task()
        return {t for t in self._tasks if t is not current and not t.done()}

    def _failed(self, what: str, exc: Exception) -> str:
        """Log a job's failure; returns its one-line description."""
        error, kind = describe_error(exc), type(exc).__name__
        first_of_kind = self._failing.get(what) != kind
        self._failing[what] = kind
        # expected failures (ours, classified) never need a traceback; a bug shows one, once per streak
        show_traceback = first_of_kind and not isinstance(exc, MonitorError)
        logger.warning("%s failed: %s", what, error, exc_info=exc if show_traceback else None)
        return error

    def _succeeded(self, what: str) -> None:
        if self._failing.pop(what, None) is not None:
            logger.info("%s succeeded again", what)

    def _skipped(self, advertiser_id: str, reason: str) -> None:
        if self._stopping:  # not a slow advertiser: shutdown starts no more polls
            logger.debug("poll of advertiser %s skipped: %s", advertiser_id, reason)
        else:
            skips = self._skip_streaks[advertiser_id] = self._skip_streaks.get(advertiser_id, 0) + 1
            if skips == 1:
                logger.warning(
                    "poll of advertiser %s skipped: %s (interval %s); more skips of it are logged at debug level "
                    "until its polls keep up again",
                    advertiser_id,
                    reason,
                    format_duration(self._interval),
                )
            else:
                logger.debug(
                    "poll of advertiser %s skipped: %s (%d since its polls last kept up)", advertiser_id, reason, skips
                )
        for listener in self._on_poll_skipped:
            call_listener(listener, advertiser_id, reason)

    def _kept_up(self, advertiser_id: str, skips_before: int | None) -> None:
        """End the advertiser's skip streak when the poll that just ended saw no skip of it (``skips_before``: the
        streak's count when it started). Not at a poll's start: a steadily slow advertiser starts one every few
        intervals and would be told each time."""
        skips = self._skip_streaks.get(advertiser_id)
        if skips is not None and skips == skips_before:
            del self._skip_streaks[advertiser_id]
            logger.info("polls of advertiser %s keep up again (%d skipped)", advertiser_id, skips)

    def _on_not_run(self, event: JobEvent) -> None:
        if event.job_id.startswith(POLL_JOB):
            reason = "previous poll still running" if event.code == EVENT_JOB_MAX_INSTANCES else "missed its time"
            self._skipped(event.job_id.removeprefix(POLL_JOB), reason)


def describe_error(exc: BaseException) -> str:
    """``"ClassName: message"`` (the class alone without a message), at most 500 characters."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def call_listener(listener: Callable[..., None], *args: object) -> None:
    """Call a listener; one that raises is logged with its traceback and never stops the others."""
    try:
        listener(*args)
    except Exception:
        logger.exception("listener %r failed", listener)
