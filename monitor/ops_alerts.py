"""The running monitor's operational alerts (:class:`OpsAlerts`, which :class:`~monitor.runtime.Runtime` holds):
one problem book per subject (an advertiser, ``rules``, ``discovery:<account>``, ``storage``), made from what the
store remembers, so each problem is told once per episode, across restarts too; and telling them: logged, queued
in the outbox for the operational channels, or, when the database is full, sent to those channels at once. A
book's change is remembered and its message queued in one transaction (:meth:`OpsAlerts.record`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.domain import OpsKind, OpsState
from monitor.notify.base import Channel, split_channel
from monitor.notify.message import OperationalMessage, notifications
from monitor.notify.ops import OpsPolicy
from monitor.notify.problems import ProblemBook
from monitor.store.errors import StoreFullError

if TYPE_CHECKING:
    from monitor.config import NotifySettings
    from monitor.store.repo import Store

log = logging.getLogger("monitor.runtime")  # the runtime's logger, as before this was split from it

#: The cooldown of an operational alert told once per episode.
TELL_ONCE_COOLDOWN_DAYS = 3650


class OpsAlerts:
    """The problem books of every subject and where their messages go: ``channels`` (every channel, by name) and
    :attr:`ops_channels` (the specs operational messages go to, ``[notify] ops_channels`` or every channel); a
    reload of the configuration replaces both (:mod:`monitor.reload`)."""

    def __init__(self, store: Store, channels: dict[str, Channel], notify: NotifySettings) -> None:
        self._store = store
        self.channels = channels
        self.ops_channels = list(notify.ops_channels or channels)
        self.policy = OpsPolicy(
            cooldown=notify.ops_cooldown,
            cooldowns={OpsKind.ACCOUNT_LIMITED: timedelta(days=TELL_ONCE_COOLDOWN_DAYS)},
            unreachable_after=notify.unreachable_after,
        )
        #: The operational problems the store remembers, read by :meth:`load`.
        self.remembered: list[OpsState] = []
        self._books: dict[str, ProblemBook] = {}

    async def load(self) -> None:
        """Read the operational problems the store remembers (told before a restart, or by an earlier ``once``);
        the books made before are dropped."""
        self.remembered = await self._store.problems.all()
        self._books.clear()

    def problems_of(self, subject: str) -> ProblemBook:
        """The problem book of ``subject`` (an advertiser id, ``rules``, ``discovery:<account>``), made on first
        use from what the store remembers; its changes and messages go through :meth:`record`."""
        book = self._books.get(subject)
        if book is None:
            book = ProblemBook(subject, self.policy, states=self.remembered, recorder=self)
            self._books[subject] = book
        return book

    async def record(
        self, kind: OpsKind, subject: str, state: OpsState | None, message: OperationalMessage | None, now: datetime
    ) -> None:
        """A problem book's change: ``state`` remembered (None: forgotten) and ``message`` queued for the ops
        channels in one transaction; the message is logged first, so its detail is in the log even when the
        database cannot take it. When the database is full the message is sent to the ops channels at once
        instead, the state kept only in the book (logged); any other failure raises, and neither is written
        (:class:`~monitor.notify.problems.ProblemRecorder`)."""
        told = notifications(message, self.ops_channels) if message is not None and self.ops_channels else []
        if message is not None:
            _log(message)  # first: the log says it (with its detail) even when the database cannot take it
        try:
            await self._store.problems.record(kind, subject, state, told, now)
        except StoreFullError as exc:
            if message is None:
                raise
            log.warning("could not remember operational problem %s of %s: %s", kind.value, subject, exc)
            await self._send_now(message)  # the outbox cannot take it: said now, once, straight to the ops channels

    async def tell(self, messages: Sequence[OperationalMessage], now: datetime) -> None:
        """Log operational messages and enqueue them for the ops channels (messages no problem book remembers)."""
        for message in messages:
            _log(message)
            if not self.ops_channels:
                continue
            try:
                await self._store.outbox.enqueue(notifications(message, self.ops_channels), now)
            except StoreFullError:  # the outbox cannot take it: said now, once, straight to the ops channels
                await self._send_now(message)

    async def _send_now(self, message: OperationalMessage) -> None:
        """Send ``message`` to the ops channels without the outbox (it cannot be written); a channel that fails
        is logged, not retried."""
        for spec in dict.fromkeys(self.ops_channels):
            name, target = split_channel(spec)
            channel = self.channels.get(name)
            if channel is None:
                continue
            try:
                await channel.send(message, target)
            except Exception as exc:
                log.warning("could not send operational alert %s to %s: %s", message.kind.value, spec, exc)


def _log(message: OperationalMessage) -> None:
    what = "recovered" if message.recovered else message.detail
    log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, what)
