"""What becomes of each row an outbox sender claimed (the sender: monitor.notify.outbox): sent, retried later with
exponential back-off and jitter (:class:`Backoff`, at least the receiver's Retry-After) or given up after
``max_attempts``, recorded in the store by the row's claimant and counted in the run's :class:`SendReport`.

A permanent failure is logged once per (destination, error code), not once per message, until a delivery through
that destination succeeds; :attr:`Results.problems` lists them meanwhile. A row another sender took over keeps the
result that sender records: this one's is not recorded (``lost``). A row delivered whose recording failed (the store
was away) is remembered, and marked sent when it is claimed again, never sent twice by this process.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.notify.base import split_channel
from monitor.notify.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from monitor.store import OutboxMessage, Store

#: The sender's logger: every line about delivering and recording the outbox's rows goes to one logger name.
log = logging.getLogger("monitor.notify.outbox")


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after n failed ones: ``first * factor**(n-1)``, at most ``cap``, ± ``jitter``."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.2

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        seconds = min(self.first.total_seconds() * self.factor ** max(failures - 1, 0), self.cap.total_seconds())
        return timedelta(seconds=seconds * (1 + rng.uniform(-self.jitter, self.jitter)))


@dataclass
class SendReport:
    """What one :meth:`~monitor.notify.outbox.OutboxSender.run_once` did."""

    fetched: int = 0  # rows claimed
    sent: int = 0
    already_delivered: int = 0  # found at the destination after an interrupted delivery: not sent again
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # taken over by another sender after this one's claim ran out: result not recorded here
    #: (channel name, result) -> messages: ``sent``, ``failed`` (will retry) or ``dropped`` (given up), for the
    #: metrics; the channel is the configured name (``slack`` for ``slack:#ops`` too)
    by_channel: Counter[tuple[str, str]] = field(default_factory=Counter)

    def tally(self, row: OutboxMessage, result: str) -> None:
        """Count one result of ``row`` under its channel's name."""
        self.by_channel[(split_channel(row.channel)[0], result)] += 1

    def add(self, other: SendReport) -> None:
        for name in (f.name for f in dataclasses.fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Results:
    """Records the results of one sender (``claimant``) in ``store``: a row fails for good once it has failed
    ``max_attempts`` times; until then it is retried after ``backoff`` (jittered by ``rng``)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        claimant: str,
        *,
        max_attempts: int,
        backoff: Backoff,
        rng: random.Random,
    ) -> None:
        self._store = store
        self._clock = clock
        self._claimant = claimant
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._rng = rng
        self._problems: dict[tuple[str, str], str] = {}
        self._unconfirmed: set[int] = set()  # delivered, but recording it failed: record, never re-send

    @property
    def problems(self) -> dict[str, str]:
        """Permanent delivery problems not yet cleared by a success: ``"slack: invalid_auth" -> message``."""
        return {f"{spec}: {code}": text for (spec, code), text in self._problems.items()}

    async def mark_sent(self, row: OutboxMessage, report: SendReport, *, already: bool = False) -> None:
        """Record a delivery (``already``: found at the destination, not sent by this run)."""
        self._unconfirmed.add(row.id)
        recorded = await self._store.outbox.mark_sent(row.id, self._clock.now(), claimant=self._claimant)
        self._unconfirmed.discard(row.id)
        if not recorded:
            report.lost += 1
            log.warning(
                "%s: outbox row %s was delivered after this sender's claim on it ran out, and another sender took it "
                "over: it may arrive twice (Slack with a bot token: that sender looks for it in the channel first)",
                row.channel,
                row.id,
            )
            return
        if already:
            report.already_delivered += 1
        else:
            report.sent += 1
            report.tally(row, "sent")
        cleared = [key for key in self._problems if key[0] == row.channel]
        if cleared:
            for key in cleared:
                del self._problems[key]
            log.info("%s: delivering again", row.channel)

    async def confirm_unrecorded(self, rows: list[OutboxMessage], report: SendReport) -> list[OutboxMessage]:
        """Rows this process delivered but could not mark sent (the store failed): mark them, do not re-send.
        Returns the others."""
        rest = []
        for row in rows:
            if row.id in self._unconfirmed:
                await self.mark_sent(row, report, already=True)
            else:
                rest.append(row)
        return rest

    async def retry(
        self,
        row: OutboxMessage,
        error: TransientDeliveryError,
        report: SendReport,
        *,
        retry_at: datetime | None = None,
        deferred: bool = False,
    ) -> datetime:
        """Schedule the row's next attempt (or give up after max_attempts); returns when it will be."""
        now = self._clock.now()
        failures = row.attempts + 1
        if failures >= self._max_attempts:
            gave_up = PermanentDeliveryError(f"gave up after {failures} attempts; last: {error}", code=error.code)
            if await self.give_up(row, gave_up, report, log_it=False):
                log.error("%s: gave up on outbox row %s after %d attempts: %s", row.channel, row.id, failures, error)
            return now
        if retry_at is None:
            delay = self._backoff.delay(failures, self._rng)
            if error.retry_after is not None:
                delay = max(delay, timedelta(seconds=error.retry_after))
            retry_at = now + delay
        text = f"{error.code}: {error}" + (
            " (waiting for an earlier message to the same destination)" if deferred else ""
        )
        if await self._record_failure(row, text, retry_at, report):
            report.retrying += 1
            report.tally(row, "failed")
        return retry_at

    async def give_up(
        self, row: OutboxMessage, error: DeliveryError, report: SendReport, *, log_it: bool = True
    ) -> bool:
        """Record the row as failed for good; whether it was recorded (not taken over by another sender)."""
        if not await self._record_failure(row, f"{error.code}: {error}", None, report):
            return False
        report.failed += 1
        report.tally(row, "dropped")
        key = (row.channel, error.code)
        if log_it and key not in self._problems:
            log.error("%s: %s (logged once; such messages fail until it is fixed)", row.channel, error)
        elif log_it:
            log.debug("%s: outbox row %s failed: %s", row.channel, row.id, error)
        if log_it:
            self._problems[key] = str(error)
        return True

    async def _record_failure(
        self, row: OutboxMessage, text: str, retry_at: datetime | None, report: SendReport
    ) -> bool:
        if await self._store.outbox.mark_failed(row.id, text, retry_at, claimant=self._claimant):
            return True
        report.lost += 1
        log.info("%s: outbox row %s was taken over by another sender; not recording this result", row.channel, row.id)
        return False
