"""The sender: claims due outbox rows, delivers them through their channels, retries transient failures, records
every result.

A poll writes its notification rows in the same transaction as the alert states that caused them
(``PollWriter.enqueue``), so a decided notification is never lost. The daemon's scheduler runs
:meth:`OutboxSender.run_once` as its ``outbox`` job every ``[notify] interval`` (one run at a time), then a last
run and :meth:`OutboxSender.drain` at shutdown (``once`` drains after its polls). Each run *claims* up to ``batch``
due rows (monitor.store.outbox: one write transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), delivers each
through its channel outside any transaction, and records the outcome:

* accepted by the channel -> ``mark_sent`` right away;
* :class:`TransientDeliveryError` (or a timeout, or a bug) -> retried later with exponential back-off and jitter
  (:class:`Backoff`, at least the receiver's Retry-After); the other claimed rows to the same destination wait with
  it, so an unreachable Slack costs one attempt per back-off period and sender, not one per message; after
  ``max_attempts`` it is given up (failed);
* :class:`PermanentDeliveryError` -> failed at once; logged once per (destination, error code), not once per
  message, until a delivery through that destination succeeds; :attr:`OutboxSender.problems` lists them meanwhile
  (nothing in the daemon reads it: /healthz and /metrics do not show it).

Within a run, each channel's rows are delivered by their own task, so a slow SMTP server does not delay the Slack
messages of that run. The next run starts only when the slowest channel has finished, though: a slow or hanging
channel (each call waits up to ``send_timeout``) delays the messages queued meanwhile for every channel.
Polling never waits for delivery: the pipeline only enqueues.

Several senders on one database (replicas of ``run``): each row is delivered once however many senders run, by the
sender holding its claim (monitor.notify.outbox_claim); a sender that dies leaves its rows to another once its claim
has run out. How each result is recorded, the back-off and the once-per-problem log: monitor.notify.outbox_results.

Delivery guarantee. A row marked sent is never sent again. A sender that dies (or loses an answer) between "the
channel accepted it" and "the row is marked sent" leaves a row that may already have been delivered. Before
re-sending such a row (taken over from a claim that ran out, or whose last attempt failed), the sender asks the
channel whether it arrived (:class:`~monitor.notify.base.Reconciler`): Slack with a bot token looks for the row's
delivery id in the channel's recent history, so Slack gets each message exactly once (when the token may read
that history; otherwise it says so once and delivery is at least once). Channels that cannot tell (incoming
webhook, e-mail, generic webhook) get such a row at least once, with a stable ``delivery_id`` (metadata,
Message-ID, X-Monitor-Delivery header) to deduplicate on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Collection, Mapping
from datetime import datetime
from typing import TypeVar

from monitor.clock import Clock
from monitor.notify.base import Channel, Reconciler, split_channel
from monitor.notify.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.notify.message import from_json
from monitor.notify.outbox_claim import Claims, Held
from monitor.notify.outbox_results import Backoff, Results, SendReport
from monitor.store import OutboxMessage, Store
from monitor.store.values import dumps

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def delivery_id(row: OutboxMessage) -> str:
    """Stable for a row across attempts and restarts, and unlikely to collide across databases."""
    digest = hashlib.sha256(f"{row.created_at.isoformat()}|{row.channel}|{dumps(row.payload)}".encode()).hexdigest()
    return f"tam-{row.id}-{digest[:12]}"


class OutboxSender:
    """Delivers due outbox rows. ``channels`` maps configured names ("slack", "email", "webhook", "console") to
    channels.

    ``name`` says who claims rows in the database (default ``host:pid``); a random suffix makes every sender's
    claimant unique (:attr:`claimant`).
    """

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
        name: str | None = None,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._batch = batch
        self._send_timeout = send_timeout
        self.claimant = f"{name or f'{socket.gethostname()}:{os.getpid()}'}/{secrets.token_hex(4)}"
        self._claims = Claims(store, clock, self.claimant, send_timeout)
        self._results = Results(
            store,
            clock,
            self.claimant,
            max_attempts=max_attempts,
            backoff=backoff or Backoff(),
            rng=rng or random.Random(),
        )
        self._running = asyncio.Lock()  # one run at a time: a run takes back this sender's unfinished claims

    @property
    def problems(self) -> dict[str, str]:
        """Permanent delivery problems not yet cleared by a success: ``"slack: invalid_auth" -> message``."""
        return self._results.problems

    async def replace_channels(self, channels: Mapping[str, Channel]) -> dict[str, Channel]:
        """Deliver through ``channels`` from now on (a reloaded configuration's); returns the previous ones once
        no run is delivering with them any more, for the caller to close."""
        previous, self._channels = self._channels, dict(channels)
        async with self._running:  # a run that started before the swap has finished
            pass
        return previous

    async def run_once(self, now: datetime | None = None) -> SendReport:
        """Claim the due rows (at most ``batch``) and deliver them. Store errors propagate after every channel has
        finished; the rows left unrecorded stay claimed by this sender, and its next run takes them again."""
        async with self._running:
            now = now or self._clock.now()
            report = SendReport()
            claim = await self._store.outbox.claim_due(now, self.claimant, now + self._claims.lasts, self._batch)
            report.fetched = len(claim.messages)
            for row_id, previous in claim.taken_over.items():
                if previous != self.claimant:
                    log.info("outbox row %s: taking over from %s, whose claim ran out unrecorded", row_id, previous)
            by_channel: dict[str, list[OutboxMessage]] = {}
            for row in claim.messages:
                by_channel.setdefault(split_channel(row.channel)[0], []).append(row)
            results = await asyncio.gather(
                *(
                    self._deliver_all(name, rows, claim.taken_over.keys(), Held(claim.until), report)
                    for name, rows in by_channel.items()
                ),
                return_exceptions=True,
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
            total.add(report)
            if report.fetched < self._batch or report.sent + report.already_delivered + report.failed == 0:
                return total

    # --- one channel -----------------------------------------------------------------------------------------

    async def _deliver_all(
        self, name: str, rows: list[OutboxMessage], taken_over: Collection[int], held: Held, report: SendReport
    ) -> None:
        channel = self._channels.get(name)
        if channel is None:
            missing = PermanentDeliveryError(f"no notification channel named {name!r} is configured", code="no_channel")
            for row in rows:
                await self._results.give_up(row, missing, report)
            return
        rows = await self._results.confirm_unrecorded(rows, report)
        rows = await self._skip_delivered(name, channel, rows, taken_over, held, report)
        blocked: dict[str | None, tuple[TransientDeliveryError, datetime]] = {}
        for index, row in enumerate(rows):
            if row.id in held.lost:  # another sender holds it now
                continue
            target = split_channel(row.channel)[1]
            if target in blocked:
                error, retry_at = blocked[target]
                await self._results.retry(row, error, report, retry_at=retry_at, deferred=True)
                continue
            await self._claims.keep(rows[index:], held, report)
            if row.id in held.lost:
                continue
            failure = await self._attempt(channel, row, report)
            if failure is not None:
                blocked[target] = failure
        for target, (error, retry_at) in blocked.items():
            where = name if target is None else f"{name}:{target}"
            log.warning(
                "%s: delivery failed (%s: %s); next attempt at %s", where, error.code, error, f"{retry_at:%H:%M:%S}"
            )

    async def _call(self, call: Awaitable[_T]) -> _T:
        """A call to a channel, bounded by ``send_timeout`` (a claim lasts only so long)."""
        async with asyncio.timeout(self._send_timeout):
            return await call

    async def _attempt(
        self, channel: Channel, row: OutboxMessage, report: SendReport
    ) -> tuple[TransientDeliveryError, datetime] | None:
        try:
            message = from_json(row.payload)
        except ValueError as exc:
            await self._results.give_up(
                row, PermanentDeliveryError(f"unreadable outbox row: {exc}", code="bad_payload"), report
            )
            return None
        target = split_channel(row.channel)[1]
        try:
            await self._call(channel.send(message, target, delivery_id=delivery_id(row)))
        except PermanentDeliveryError as exc:
            await self._results.give_up(row, exc, report)
            return None
        except TransientDeliveryError as exc:
            error = exc
        except TimeoutError:
            error = TransientDeliveryError(f"no answer within {self._send_timeout:g}s", code="timeout")
        except Exception as exc:  # a bug in a channel or template must not lose the message: retry, loudly
            log.exception("%s: unexpected error delivering outbox row %s", row.channel, row.id)
            error = TransientDeliveryError(f"{type(exc).__name__}: {exc}", code="unexpected")
        else:
            await self._results.mark_sent(row, report)
            return None
        return error, await self._results.retry(row, error, report)

    async def _skip_delivered(
        self,
        name: str,
        channel: Channel,
        rows: list[OutboxMessage],
        taken_over: Collection[int],
        held: Held,
        report: SendReport,
    ) -> list[OutboxMessage]:
        """Ask the channel about rows that may have been delivered already (taken over from a claim that ran out,
        or whose last attempt failed); mark those sent instead of sending."""
        if not isinstance(channel, Reconciler):
            return rows
        doubtful: dict[str | None, list[OutboxMessage]] = {}
        for row in rows:
            if row.attempts > 0 or row.id in taken_over:
                doubtful.setdefault(split_channel(row.channel)[1], []).append(row)
        skip: set[int] = set()
        for target, candidates in doubtful.items():
            await self._claims.keep(rows, held, report)
            ids = {delivery_id(row): row for row in candidates if row.id not in held.lost}
            if not ids:
                continue
            since = min(r.created_at for r in ids.values())
            try:
                found = await self._call(channel.find_delivered(target, since, ids.keys()))
            except (TransientDeliveryError, TimeoutError) as exc:  # cannot check now: do not risk a duplicate
                error = (
                    exc
                    if isinstance(exc, TransientDeliveryError)
                    else TransientDeliveryError(f"no answer within {self._send_timeout:g}s", code="timeout")
                )
                retry_at = None
                for row in ids.values():
                    retry_at = await self._results.retry(row, error, report, retry_at=retry_at)
                    skip.add(row.id)
                continue
            for key in found or ():
                row = ids[key]
                log.info("%s: outbox row %s was already delivered (interrupted before it was recorded)", name, row.id)
                await self._results.mark_sent(row, report, already=True)
                skip.add(row.id)
        return [row for row in rows if row.id not in skip and row.id not in held.lost]


__all__ = ["Backoff", "OutboxSender", "SendReport", "delivery_id"]
