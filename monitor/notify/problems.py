"""The operational problems of one subject (an advertiser, or the rules), remembered between polls.

:class:`ProblemBook` keeps one :class:`~monitor.notify.ops.OpsState` per problem kind and asks the pure
:func:`~monitor.notify.ops.decide` whether each new observation is to be told (a new problem, a repeat after its
cooldown, a recovery). It is kept in memory: after a restart a problem that is still there may be told once more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from monitor.domain import Account
from monitor.notify.message import OperationalMessage, OpsKind
from monitor.notify.ops import OpsEvent, OpsPolicy, OpsState, decide


class ProblemBook:
    """What is known about the problems of ``subject``; :meth:`observe` returns the messages to send."""

    def __init__(self, subject: str, policy: OpsPolicy) -> None:
        self.subject = subject
        self._policy = policy
        self._states: dict[OpsKind, OpsState] = {}

    def is_open(self, kind: OpsKind) -> bool:
        """Whether a problem of ``kind`` is remembered (present at the last observation)."""
        return kind in self._states

    def observe(
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
        decision = decide(event, self._states.get(kind), now, self._policy)
        if decision.state is None:
            self._states.pop(kind, None)
        else:
            self._states[kind] = decision.state
        return decision.message

    def settle(
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
                message = self.observe(kind, kind is present, now, detail=detail, account=account, failures=failures)
                if message is not None:
                    messages.append(message)
        return messages
