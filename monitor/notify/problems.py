"""The operational problems of one subject (an advertiser, the rules, a token account's discovery), remembered
between polls and across restarts, and told.

:class:`ProblemBook` keeps one :class:`~monitor.domain.OpsState` per problem kind and asks the pure
:func:`~monitor.notify.ops.decide` whether each new observation is to be told (a new problem, a repeat after its
cooldown, a recovery). Every change goes to its ``recorder`` (:class:`~monitor.ops_alerts.OpsAlerts`), which
remembers the new state in the store's ``problems`` and queues the message it tells in **one step** (one
transaction), so a problem told once is not told again after a restart or by the next cron'd ``once``, and a
problem is never remembered as told while its message was not queued. (Remembering first and queueing after, in
two transactions, lost the message when the daemon's shutdown cancelled a poll between the two, or when the
queueing write failed: the next observation found it told. Queueing first and remembering after would tell it
twice instead; one transaction does neither.)

The book's own state follows what was recorded: it changes only once the step has succeeded. A step that fails
(the database is down or locked) is logged; the new state is still kept in this process but not as told, so the
next observation tells the message again. One that is cancelled changes nothing here either (had its COMMIT
landed, this process would tell the message a second time: a duplicate, never a loss). Observations of one
book are serialized (one lock): every advertiser's poller shares the ``storage`` book, and two of them must not
both find a problem untold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from monitor.domain import Account, OpsKind, OpsState
from monitor.errors import MonitorError
from monitor.notify.message import OperationalMessage
from monitor.notify.ops import OpsEvent, OpsPolicy, decide

log = logging.getLogger(__name__)


class ProblemRecorder(Protocol):
    """Where a problem book's changes go: remembered across restarts, and told
    (:class:`~monitor.ops_alerts.OpsAlerts`)."""

    async def record(
        self, kind: OpsKind, subject: str, state: OpsState | None, message: OperationalMessage | None, now: datetime
    ) -> None:
        """Remember ``state`` as the problem ``(kind, subject)`` (None: forget it) and tell ``message`` (if any) in
        one step: both are done, or it raises and neither is. (A message sent at once because the database is full,
        the state not remembered, counts as done.)"""


class ProblemBook:
    """What is known about the problems of ``subject``; :meth:`observe` records each change and tells its message
    through ``recorder`` (None: kept in this process only, told to nobody). ``states`` are what the store
    remembered of this subject at start."""

    def __init__(
        self,
        subject: str,
        policy: OpsPolicy,
        *,
        states: Iterable[OpsState] = (),
        recorder: ProblemRecorder | None = None,
    ) -> None:
        self.subject = subject
        self._policy = policy
        self._recorder = recorder
        self._lock = asyncio.Lock()
        self._states: dict[OpsKind, OpsState] = {s.kind: s for s in states if s.subject == subject}

    def is_open(self, kind: OpsKind) -> bool:
        """Whether a problem of ``kind`` is remembered (present at the last observation)."""
        return kind in self._states

    def state(self, kind: OpsKind) -> OpsState | None:
        """The problem of ``kind`` as remembered now (None: it is not present)."""
        return self._states.get(kind)

    def since(self, kind: OpsKind) -> datetime | None:
        """Since when the problem of ``kind`` has been present (None: it is not)."""
        state = self._states.get(kind)
        return state.since if state else None

    async def observe(
        self,
        kind: OpsKind,
        present: bool,
        now: datetime,
        *,
        detail: str = "",
        account: Account | None = None,
        failures: int = 1,
    ) -> OperationalMessage | None:
        """Record whether the problem is present now and tell its message, if one is due; returns the message
        told (None: none, or it could not be told and is due at the next observation)."""
        async with self._lock:
            event = OpsEvent(kind, self.subject, present, detail, account, failures)
            previous = self._states.get(kind)
            decision = decide(event, previous, now, self._policy)
            state, message = decision.state, decision.message
            if state != previous or message is not None:
                recorded = await self._record(kind, state, message, now)
                if not recorded and message is not None:  # not told: due again at the next observation
                    state, message = _untold(state, previous), None
            if state is None:
                self._states.pop(kind, None)
            else:
                self._states[kind] = state
            return message

    async def settle(
        self,
        present: OpsKind | None,
        kinds: Iterable[OpsKind],
        now: datetime,
        *,
        detail: str = "",
        account: Account | None = None,
        failures: int = 1,
    ) -> list[OperationalMessage]:
        """Observe ``present`` (or none) among ``kinds``: the present one is recorded, a remembered other one is
        cleared (its recovery told); returns the messages told."""
        messages = []
        for kind in kinds:
            if kind is present or self.is_open(kind):
                message = await self.observe(
                    kind, kind is present, now, detail=detail, account=account, failures=failures
                )
                if message is not None:
                    messages.append(message)
        return messages

    async def _record(
        self, kind: OpsKind, state: OpsState | None, message: OperationalMessage | None, now: datetime
    ) -> bool:
        """Whether the change was recorded (and its message told); a failure is logged."""
        if self._recorder is None:
            return True
        try:
            await self._recorder.record(kind, self.subject, state, message, now)
        except (MonitorError, OSError) as exc:  # the database is down: keep it in memory, untold, say so
            told = " nor tell it (told at the next observation)" if message is not None else ""
            log.warning("could not remember operational problem %s of %s%s: %s", kind.value, self.subject, told, exc)
            return False
        return True


def _untold(state: OpsState | None, previous: OpsState | None) -> OpsState | None:
    """What to keep of a change whose message could not be told: the new state, told as before it (a recovery not
    told keeps the problem open), so the next observation tells it."""
    if state is None:
        return previous
    if previous is None:
        return replace(state, notified=False, last_notified_at=None)
    return replace(state, notified=previous.notified, last_notified_at=previous.last_notified_at)
