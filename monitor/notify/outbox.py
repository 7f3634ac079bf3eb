"""The sender: delivers outbox rows through their channels, retries transient failures, records every result.

A poll writes its notification rows in the same transaction as the alert states that caused them
(``PollWriter.enqueue``), so a decided notification is never lost. The daemon's scheduler runs
:meth:`OutboxSender.run_once` as its ``outbox`` job every ``[notify] interval`` (one run at a time), then a last
run and :meth:`OutboxSender.drain` at shutdown (``once`` drains after its polls). Each run fetches due rows,
delivers each through its channel and records the outcome:

* accepted by the channel -> ``mark_sent`` right away;
* :class:`TransientDeliveryError` (or a timeout, or a bug) -> retried later with exponential back-off and jitter
  (at least the receiver's Retry-After); the other due rows to the same destination wait with it, so an
  unreachable Slack costs one attempt per back-off period, not one per message; after ``max_attempts`` it is
  given up (failed);
* :class:`PermanentDeliveryError` -> failed at once; logged once per (destination, error code), not once per
  message, until a delivery through that destination succeeds; :attr:`OutboxSender.problems` lists them meanwhile
  (nothing in the daemon reads it: /healthz and /metrics do not show it).

Within a run, each channel's rows are delivered by their own task, so a slow SMTP server does not delay the Slack
messages of that run. The next run starts only when the slowest channel has finished, though: a slow or hanging
channel (each attempt waits up to ``send_timeout``) delays the messages queued meanwhile for every channel.
Polling never waits for delivery: the pipeline only enqueues.

Delivery guarantee. A row marked sent is never sent again. A crash (or a lost answer) between "the channel
accepted it" and "the row is marked sent" leaves a row that may already have been delivered. Before re-sending
such a row (one that was pending when this sender started, or whose last attempt failed), the sender asks the
channel whether it arrived (:class:`~monitor.notify.base.Reconciler`): Slack with a bot token looks for the row's
delivery id in the channel's recent history, so Slack gets each message exactly once (when the token may read
that history; otherwise it says so once and delivery is at least once). Channels that cannot tell (incoming
webhook, e-mail, generic webhook) get it at least once, with a stable ``delivery_id`` (metadata, Message-ID,
X-Monitor-Delivery header) to deduplicate on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.notify.base import Channel, Reconciler, split_channel
from monitor.notify.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from monitor.notify.message import from_json
from monitor.store import OutboxMessage, Store
from monitor.store.values import dumps

log = logging.getLogger(__name__)


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
    """What one :meth:`OutboxSender.run_once` did."""

    fetched: int = 0
    sent: int = 0
    already_delivered: int = 0  # found at the destination after an interrupted delivery: not sent again
    retrying: int = 0
    failed: int = 0


def delivery_id(row: OutboxMessage) -> str:
    """Stable for a row across attempts and restarts, and unlikely to collide across databases."""
    digest = hashlib.sha256(f"{row.created_at.isoformat()}|{row.channel}|{dumps(row.payload)}".encode()).hexdigest()
    return f"tam-{row.id}-{digest[:12]}"


class OutboxSender:
    """Delivers due outbox rows. ``channels`` maps configured names ("slack", "email", "webhook") to channels."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        batch: int = 100,
        max_attempts: int = 20,
        backoff: Backoff | None = None,
        send_timeout: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._batch = batch
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff()
        self._send_timeout = send_timeout
        self._rng = rng or random.Random()
        self._started = clock.now()
        self._problems: dict[tuple[str, str], str] = {}
        self._unconfirmed: set[int] = set()  # delivered, but recording it failed: record, never re-send

    @property
    def problems(self) -> dict[str, str]:
        """Permanent delivery problems not yet cleared by a success: ``"slack: invalid_auth" -> message``."""
        return {f"{spec}: {code}": text for (spec, code), text in self._problems.items()}

    async def run_once(self, now: datetime | None = None) -> SendReport:
        """Deliver the due rows (at most ``batch``). Store errors propagate after every channel has finished."""
        now = now or self._clock.now()
        report = SendReport()
        due = await self._store.outbox.fetch_due(now, self._batch)
        report.fetched = len(due)
        by_channel: dict[str, list[OutboxMessage]] = {}
        for row in due:
            by_channel.setdefault(split_channel(row.channel)[0], []).append(row)
        results = await asyncio.gather(
            *(self._deliver_all(name, rows, report) for name, rows in by_channel.items()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return report

    async def drain(self, now: datetime | None = None) -> SendReport:
        """Deliver batch after batch until no due row is left or a batch made no progress (all retrying):
        for `once` and the last delivery at shutdown, where one batch of ``batch`` rows may not be all."""
        total = SendReport()
        while True:
            report = await self.run_once(now)
            for name in ("fetched", "sent", "already_delivered", "retrying", "failed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.fetched < self._batch or report.sent + report.already_delivered + report.failed == 0:
                return total

    # --- one channel -----------------------------------------------------------------------------------------

    async def _deliver_all(self, name: str, rows: list[OutboxMessage], report: SendReport) -> None:
        channel = self._channels.get(name)
        if channel is None:
            missing = PermanentDeliveryError(f"no notification channel named {name!r} is configured", code="no_channel")
            for row in rows:
                await self._give_up(row, missing, report)
            return
        rows = await self._confirm_unrecorded(rows, report)
        rows = await self._skip_delivered(name, channel, rows, report)
        blocked: dict[str | None, tuple[TransientDeliveryError, datetime]] = {}
        for row in rows:
            target = split_channel(row.channel)[1]
            if target in blocked:
                error, retry_at = blocked[target]
                await self._retry(row, error, report, retry_at=retry_at, deferred=True)
                continue
            failure = await self._attempt(channel, row, report)
            if failure is not None:
                blocked[target] = failure
        for target, (error, retry_at) in blocked.items():
            where = name if target is None else f"{name}:{target}"
            log.warning(
                "%s: delivery failed (%s: %s); next attempt at %s", where, error.code, error, f"{retry_at:%H:%M:%S}"
            )

    async def _attempt(
        self, channel: Channel, row: OutboxMessage, report: SendReport
    ) -> tuple[TransientDeliveryError, datetime] | None:
        try:
            message = from_json(row.payload)
        except ValueError as exc:
            await self._give_up(
                row, PermanentDeliveryError(f"unreadable outbox row: {exc}", code="bad_payload"), report
            )
            return None
        target = split_channel(row.channel)[1]
        try:
            async with asyncio.timeout(self._send_timeout):
                await channel.send(message, target, delivery_id=delivery_id(row))
        except PermanentDeliveryError as exc:
            await self._give_up(row, exc, report)
            return None
        except TransientDeliveryError as exc:
            error = exc
        except TimeoutError:
            error = TransientDeliveryError(f"no answer within {self._send_timeout:g}s", code="timeout")
        except Exception as exc:  # a bug in a channel or template must not lose the message: retry, loudly
            log.exception("%s: unexpected error delivering outbox row %s", row.channel, row.id)
            error = TransientDeliveryError(f"{type(exc).__name__}: {exc}", code="unexpected")
        else:
            await self._mark_sent(row, report)
            return None
        return error, await self._retry(row, error, report)

    async def _mark_sent(self, row: OutboxMessage, report: SendReport) -> None:
        self._unconfirmed.add(row.id)
        await self._store.outbox.mark_sent(row.id, self._clock.now())
        self._unconfirmed.discard(row.id)
        report.sent += 1
        cleared = [key for key in self._problems if key[0] == row.channel]
        if cleared:
            for key in cleared:
                del self._problems[key]
            log.info("%s: delivering again", row.channel)

    async def _confirm_unrecorded(self, rows: list[OutboxMessage], report: SendReport) -> list[OutboxMessage]:
        """Rows this process delivered but could not mark sent (the store failed): mark them, do not re-send."""
        rest = []
        for row in rows:
            if row.id in self._unconfirmed:
                await self._mark_sent(row, report)
                report.sent -= 1
                report.already_delivered += 1
            else:
                rest.append(row)
        return rest

    async def _skip_delivered(
        self, name: str, channel: Channel, rows: list[OutboxMessage], report: SendReport
    ) -> list[OutboxMessage]:
        """Ask the channel about rows that may have been delivered already; mark those sent instead of sending."""
        if not isinstance(channel, Reconciler):
            return rows
        doubtful: dict[str | None, list[OutboxMessage]] = {}
        for row in rows:
            if row.attempts > 0 or row.created_at < self._started:
                doubtful.setdefault(split_channel(row.channel)[1], []).append(row)
        skip: set[int] = set()
        for target, candidates in doubtful.items():
            ids = {delivery_id(row): row for row in candidates}
            try:
                found = await channel.find_delivered(target, min(r.created_at for r in candidates), ids.keys())
            except TransientDeliveryError as exc:  # cannot check now: do not risk a duplicate, try later
                retry_at = None
                for row in candidates:
                    retry_at = await self._retry(row, exc, report, retry_at=retry_at)
                    skip.add(row.id)
                continue
            for key in found or ():
                row = ids[key]
                log.info("%s: outbox row %s was already delivered (interrupted before it was recorded)", name, row.id)
                await self._mark_sent(row, report)
                report.sent -= 1
                report.already_delivered += 1
                skip.add(row.id)
        return [row for row in rows if row.id not in skip]

    # --- recording -------------------------------------------------------------------------------------------

    async def _retry(
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
            await self._give_up(row, gave_up, report, log_it=False)
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
        await self._store.outbox.mark_failed(row.id, text, retry_at)
        report.retrying += 1
        return retry_at

    async def _give_up(
        self, row: OutboxMessage, error: DeliveryError, report: SendReport, *, log_it: bool = True
    ) -> None:
        await self._store.outbox.mark_failed(row.id, f"{error.code}: {error}", None)
        report.failed += 1
        key = (row.channel, error.code)
        if log_it and key not in self._problems:
            log.error("%s: %s (logged once; such messages fail until it is fixed)", row.channel, error)
        elif log_it:
            log.debug("%s: outbox row %s failed: %s", row.channel, row.id, error)
        if log_it:
            self._problems[key] = str(error)


__all__ = ["Backoff", "OutboxSender", "SendReport", "delivery_id"]
