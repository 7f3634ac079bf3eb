"""One advertiser's boundary: everything about polling it, in one place, with one outcome per poll.

Like Home Assistant's ``DataUpdateCoordinator`` (one per polled target), an :class:`AdvertiserPoller` owns its
advertiser's state between polls and turns every way a poll can end into a :class:`~monitor.polls.PollOutcome`;
it raises for none, so one bad advertiser never stops the others. It reads the clock once per poll and owns:

* the advertiser/info cache (time zone, currency, status): read daily, hourly while the account is not active;
* the **status gate**: an account whose status is not ``STATUS_ENABLE`` (e.g. ``STATUS_LIMIT``) is told once as
  ``account_limited`` and *paused* until it is active again (its status is read hourly); a revoked token or lost
  permission is told once and the advertiser is then *paused*, tried again with back-off from a minute up to an
  hour, and at once after :meth:`AdvertiserPoller.recheck` (SIGHUP);
* the **poll deadline** (``[monitor] poll_timeout``): a poll still running then is cancelled and fails with a
  :class:`~monitor.errors.PollTimeoutError` naming the stage it was in, so the next one runs on time; but a
  COMMIT already under way is waited for (monitor.store.commit_wait), and a poll it committed is a good poll;
* its one **failure streak** (consecutive failed polls), which ``/healthz`` and ``/metrics`` read from the outcome;
* its **operational problems** (:class:`~monitor.notify.problems.ProblemBook`, remembered in the store across
  restarts): token revoked, permission lost, advertiser unreachable, account limited, each told once per episode
  and its recovery told too; a full database (``storage_full``) goes to the :class:`~monitor.fullstore.FullStore`
  every advertiser's poller shares, so it is told once however many advertisers cannot be stored;
* **since when** it has not been watched (paused or failing), for ``/healthz``.

:meth:`Pipeline.poll <monitor.pipeline.Pipeline.poll>` is only the seven steps of a poll that runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.domain import OpsKind
from monitor.durations import format_duration
from monitor.errors import MonitorError, PollTimeoutError
from monitor.fullstore import FullStore
from monitor.notify.problems import ProblemBook
from monitor.pipeline import Pipeline
from monitor.poll_stages import Progress, Stage
from monitor.polls import PollOutcome, PollResult, PollSummary
from monitor.store.errors import LeaseHeldError, ShardLostError, StoreError, StoreFullError
from monitor.tiktok.callcount import counting_calls
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import AdvertiserInfo

log = logging.getLogger(__name__)

#: advertiser/info ``status`` of an account that may be polled (tiktok-api.md §2.3).
ACTIVE_STATUS = "STATUS_ENABLE"
#: advertiser/info (time zone, currency, status) is read again after this long.
ADVERTISER_INFO_TTL = timedelta(hours=24)
#: How often the status of an account that is not active is read again.
STATUS_RECHECK = timedelta(hours=1)
#: A lost authorization is tried again after this long, doubling up to :data:`UNAUTHORIZED_RECHECK_MAX`.
UNAUTHORIZED_RECHECK_FIRST = timedelta(minutes=1)
UNAUTHORIZED_RECHECK_MAX = timedelta(hours=1)
#: API codes that mean the token no longer reaches this advertiser, or lacks a permission (tiktok-api.md §8.2).
PERMISSION_CODES = frozenset({40001, 40106, 40119, 40125, 40300, 40301})
#: The problems a failed poll can show; a success clears each of them.
POLL_PROBLEMS = (OpsKind.TOKEN_REVOKED, OpsKind.PERMISSION_LOST, OpsKind.ADVERTISER_UNREACHABLE)

#: Stages of a poll where it waits for our own database (a deadline there is not the account's problem).
#: (STORE reads again the previous snapshot's texts of the entities that changed: monitor.store.lean)
DATABASE_STAGES = frozenset({Stage.START, Stage.STORE, Stage.COMMIT})


def classify_failure(exc: BaseException) -> OpsKind:
    """Which operational problem a failed poll shows."""
    if isinstance(exc, AuthError):
        return OpsKind.TOKEN_REVOKED
    if isinstance(exc, ApiError) and exc.code in PERMISSION_CODES:
        return OpsKind.PERMISSION_LOST
    return OpsKind.ADVERTISER_UNREACHABLE


class AdvertiserPoller:
    """Polls one advertiser with ``pipeline`` (its token account's); ``problems`` remembers and tells its
    operational problems. ``poll_timeout`` (None: none) cancels a poll's seven steps that run longer. ``storage``
    tells a full database, shared by every poller (None: one of this poller's own, told through ``problems``)."""

    def __init__(
        self,
        advertiser_id: str,
        *,
        pipeline: Pipeline,
        clock_now: Callable[[], datetime],
        problems: ProblemBook,
        poll_timeout: timedelta | None = None,
        storage: FullStore | None = None,
    ) -> None:
        self.advertiser_id = advertiser_id
        self.poll_timeout = poll_timeout
        self.pipeline = pipeline
        self._now = clock_now
        self._problems = problems
        self._storage = storage or FullStore(problems)
        self._info: AdvertiserInfo | None = None
        self._info_read_at: datetime | None = None
        self._limited = False  # the account is not active: polls paused
        self._unauthorized_at: datetime | None = None  # token revoked / permission lost: polls paused, last try
        self._recheck_after = UNAUTHORIZED_RECHECK_FIRST  # the back-off of a lost authorization
        self._failures = 0
        self._failing_as: str | None = None  # the error class of the current failure streak, for its traceback
        self._troubled_since: datetime | None = None  # first poll of the current paused or failing stretch

    @property
    def info(self) -> AdvertiserInfo | None:
        """The advertiser's info if a poll has read it."""
        return self._info

    @property
    def failures(self) -> int:
        """Consecutive failed polls (0 after a success)."""
        return self._failures

    @property
    def paused(self) -> bool:
        """Whether polls are paused now (lost authorization waiting for its re-check, or an account not active)."""
        return self._unauthorized_at is not None or self._limited

    def recheck(self) -> None:
        """Try a lost authorization and a limited account's status at the next poll, and restart the back-off
        (SIGHUP: someone fixed the token)."""
        self._recheck_after = UNAUTHORIZED_RECHECK_FIRST
        if self._unauthorized_at is not None:
            self._unauthorized_at = datetime.min.replace(tzinfo=UTC)
        self._info_read_at = None

    async def poll(self) -> PollOutcome:
        """One poll, whatever happens: ok, paused (and why) or failed (and why). Never raises but for
        cancellation."""
        started = time.perf_counter()
        now = self._now()
        self._troubled_since = self._troubled_since or now  # cleared by a success
        if self._unauthorized_at is not None and now - self._unauthorized_at < self._recheck_after:
            # told once already; hammering the API with a dead token helps nobody: try again with back-off
            retry = self._unauthorized_at + self._recheck_after
            reason = f"authorization lost: re-authorize (tiktok-monitor auth login); next try {retry:%H:%M:%S} UTC"
            return self._outcome(PollResult.PAUSED, started, reason)
        try:
            with counting_calls() as info_calls:
                info = await self._advertiser_info(now)
            if info.status and info.status != ACTIVE_STATUS:
                self._limited = True
                detail = f"advertiser/info status {info.status}: polls paused, the status is checked every hour"
                await self._observe(OpsKind.ACCOUNT_LIMITED, True, now, detail)
                return self._outcome(PollResult.PAUSED, started, f"account status {info.status}")
            if self._limited:
                self._limited = False
                await self._observe(OpsKind.ACCOUNT_LIMITED, False, now)
            summary = await self._run_pipeline(info, now)
        except ShardLostError as exc:  # another replica owns the advertiser now: its poll counts, this one is moot
            log.info("%s", exc)
            return self._outcome(PollResult.NOT_MINE, started, str(exc))
        except LeaseHeldError as exc:  # another process polls this advertiser now: not a problem of the account
            return self._failed(exc, started)
        except StoreFullError as exc:  # nothing could be stored: told once for the database, not per account
            outcome = self._failed(exc, started)
            await self._storage.failed(self.advertiser_id, now, str(exc))
            return outcome
        except StoreError as exc:  # our database, not the account: logged and shown by /healthz
            return self._failed(exc, started)
        except PollTimeoutError as exc:
            outcome = self._failed(exc, started)
            if exc.stage in DATABASE_STAGES:  # waited for our database, not the account: not told as its problem
                return outcome
            await self._settle(OpsKind.ADVERTISER_UNREACHABLE, now, str(exc))
            return outcome
        except (MonitorError, OSError) as exc:
            outcome = self._failed(exc, started)
            failing = classify_failure(exc)
            if failing in (OpsKind.TOKEN_REVOKED, OpsKind.PERMISSION_LOST):
                if self._unauthorized_at is not None:  # a re-check failed too: wait longer next time
                    self._recheck_after = min(UNAUTHORIZED_RECHECK_MAX, self._recheck_after * 2)
                self._unauthorized_at = now
            await self._settle(failing, now, str(exc))
            return outcome
        except Exception as exc:  # a bug: shown with its traceback once per streak, told like an unreachable account
            outcome = self._failed(exc, started)
            await self._settle(OpsKind.ADVERTISER_UNREACHABLE, now, f"internal error: {_describe(exc)}")
            return outcome
        if self._failing_as is not None:
            log.info("poll of advertiser %s succeeded again", self.advertiser_id)
        self._failures, self._failing_as, self._unauthorized_at = 0, None, None
        self._recheck_after, self._troubled_since = UNAUTHORIZED_RECHECK_FIRST, None
        await self._settle(None, now, "")
        await self._storage.stored(self.advertiser_id, now)  # this poll was stored: there may be room again
        # the summary counts every call of this poll, advertiser/info's too
        summary = replace(summary, calls=summary.calls + info_calls.n)
        return self._outcome(PollResult.OK, started, summary=summary)

    async def _run_pipeline(self, info: AdvertiserInfo, now: datetime) -> PollSummary:
        """The seven steps, cancelled at the poll deadline: then :class:`PollTimeoutError` names the stage. (One
        falling while the COMMIT runs waits for it: a poll it committed is good, warned as overrun.)"""
        if self.poll_timeout is None:
            return await self.pipeline.poll(info, now)
        progress = Progress()
        deadline = asyncio.timeout(self.poll_timeout.total_seconds())
        try:
            async with deadline:
                summary = await self.pipeline.poll(info, now, progress)
        except TimeoutError as exc:
            if deadline.expired():
                raise PollTimeoutError(self.poll_timeout, progress.stage, _why(exc)) from None
            raise
        if deadline.expired():  # it fell while the COMMIT ran, which was waited for and committed: a good poll
            late, who = format_duration(self.poll_timeout), self.advertiser_id
            log.warning("poll of advertiser %s ran past its deadline (%s) but committed: it counts", who, late)
        return summary

    def prime(self, info: AdvertiserInfo, read_at: datetime) -> None:
        """Take ``info``, read (and stored) at ``read_at`` by someone reading many advertisers' at once, as if this
        poller had read it: its next poll does not read it again while it is fresh."""
        if info.id != self.advertiser_id:
            raise ValueError(f"advertiser/info of {info.id} given to the poller of {self.advertiser_id}")
        self._info, self._info_read_at = info, read_at

    async def _advertiser_info(self, now: datetime) -> AdvertiserInfo:
        """The advertiser's info, read at most once a day (hourly while the account is not active) and kept in
        the store."""
        max_age = STATUS_RECHECK if self._limited else ADVERTISER_INFO_TTL
        if self._info is not None and self._info_read_at is not None and now - self._info_read_at < max_age:
            return self._info
        client = self.pipeline.client
        infos = await client.advertiser_info([self.advertiser_id])
        info = next((i for i in infos if i.id == self.advertiser_id), None)
        if info is None:
            info = AdvertiserInfo(self.advertiser_id, "", None, None, None)
            log.warning("advertiser/info returned nothing for %s: using UTC for its dates", self.advertiser_id)
        await self.pipeline.store.upsert_advertisers([info], now)
        self._info, self._info_read_at = info, now
        return info

    def _failed(self, exc: BaseException, started: float) -> PollOutcome:
        """Count the failure in the streak and log it: a traceback only for an unexpected error, once per streak."""
        self._failures += 1
        kind = type(exc).__name__
        first_of_kind, self._failing_as = self._failing_as != kind, kind
        show_traceback = first_of_kind and not isinstance(exc, MonitorError | OSError)
        error = _describe(exc)
        log.warning(
            "poll of advertiser %s failed: %s", self.advertiser_id, error, exc_info=exc if show_traceback else None
        )
        return self._outcome(PollResult.FAILED, started, error)

    def _outcome(
        self, result: PollResult, started: float, reason: str | None = None, *, summary: PollSummary | None = None
    ) -> PollOutcome:
        return PollOutcome(
            self.advertiser_id,
            result,
            reason=reason,
            summary=summary,
            advertiser_name=self._info.name if self._info else None,
            consecutive_failures=self._failures,
            since=None if result is PollResult.OK else self._since(),
            seconds=time.perf_counter() - started,
        )

    def _since(self) -> datetime | None:
        """Since when the advertiser has not been watched: this process's first troubled poll, or earlier when
        the store remembers the problem from before a restart."""
        remembered = [
            since for kind in (*POLL_PROBLEMS, OpsKind.ACCOUNT_LIMITED) if (since := self._problems.since(kind))
        ]
        return min([*remembered, *([self._troubled_since] if self._troubled_since else [])], default=None)

    async def _observe(self, kind: OpsKind, present: bool, now: datetime, detail: str = "") -> None:
        account = self._info.account if self._info else None
        await self._problems.observe(kind, present, now, detail=detail, account=account)

    async def _settle(self, failing: OpsKind | None, now: datetime, detail: str) -> None:
        account = self._info.account if self._info else None
        await self._problems.settle(
            failing, POLL_PROBLEMS, now, detail=detail, account=account, failures=self._failures
        )


def _why(timeout: TimeoutError) -> str | None:
    """What the store said of the cancellation the deadline made (a COMMIT let go), if anything."""
    cancelled = timeout.__cause__
    return (str(cancelled) or None) if isinstance(cancelled, asyncio.CancelledError) else None


def _describe(exc: BaseException) -> str:
    """``"ClassName: message"``, at most 500 characters."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."
