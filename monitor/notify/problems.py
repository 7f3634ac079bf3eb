"""The operational problems of one subject (an advertiser, the rules, a token account's discovery), remembered
between polls and across restarts.

:class:`ProblemBook` keeps one :class:`~monitor.domain.OpsState` per problem kind and asks the pure
:func:`~monitor.notify.ops.decide` whether each new observation is to be told (a new problem, a repeat after its
cooldown, a recovery). Every change is written to ``memory`` (the store's ``problems``), so a problem told once is
not told again after a restart or by the next cron'd ``once``. A memory that cannot be written is logged; the
state is still kept in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from monitor.domain import Account, OpsKind, OpsState
from monitor.errors import MonitorError
from monitor.notify.message import OperationalMessage
from monitor.notify.ops import OpsEvent, OpsPolicy, decide

log = logging.getLogger(__name__)


class ProblemMemory(Protocol):
    """Where problem states are kept across restarts (:class:`monitor.store.problems.Problems`)."""

    async def remember(self, states: Iterable[OpsState], now: datetime) -> None: ...

    async def forget(self, keys: Iterable[tuple[OpsKind, str]]) -> None: ...


class ProblemBook:
    """What is known about the problems of ``subject``; :meth:`observe` returns the message to send, if any.
    ``states`` are what ``memory`` remembered of this subject at start."""

    def __init__(
        self,
        subject: str,
        policy: OpsPolicy,
        *,
        states: Iterable[OpsState] = (),
        memory: ProblemMemory | None = None,
    ) -> None:
        self.subject = subject
        self._policy = policy
        self._memory = memory
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
        """Record whether the problem is present now; the message to tell, if one is due."""
        event = OpsEvent(kind, self.subject, present, detail, account, failures)
        previous = self._states.get(kind)
        decision = decide(event, previous, now, self._policy)
        if decision.state is None:
            self._states.pop(kind, None)
        else:
            self._states[kind] = decision.state
        if decision.state != previous:
            await self._write(kind, decision.state, now)
        return decision.message

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
        cleared (its recovery told)."""
        messages = []
        for kind in kinds:
            if kind is present or self.is_open(kind):
                message = await self.observe(
                    kind, kind is present, now, detail=detail, account=account, failures=failures
                )
                if message is not None:
                    messages.append(message)
        return messages

    async def _write(self, kind: OpsKind, state: OpsState | None, now: datetime) -> None:
        if self._memory is None:
            return
        try:
            if state is None:
                await self._memory.forget([(kind, self.subject)])
            else:
                await self._memory.remember([state], now)
        except (MonitorError, OSError) as exc:  # the database is down: keep it in memory, say so
            log.warning("could not remember operational problem %s of %s: %s", kind.value, self.subject, exc)
