"""Operational alerts: the monitor's own problems, told with their own cooldown, and told again when they clear.

Nine kinds (monitor.domain.OpsKind). Seven go through :func:`decide`, by way of a
:class:`~monitor.notify.problems.ProblemBook` (each advertiser's :class:`~monitor.poller.AdvertiserPoller` keeps
one, the runtime one for the rules): ``token_revoked`` (re-authorize), ``permission_lost``,
``advertiser_unreachable`` (after ``unreachable_after`` failed polls in a row), ``rules_reload_failed`` and
``account_limited`` (told once while it lasts), ``discovery_failed`` and ``storage_full`` (the database or its
disk is full: one book for every advertiser). The other two,
``action_failed`` and ``actions_held``, are told by the poll that met them (monitor.actions.runner, and
``action_failed`` also at start-up for actions a previous run left unfinished), without this state.

:func:`decide` is pure: given what happened now (an :class:`OpsEvent`: the problem is present, or it is not),
what was remembered (an :class:`OpsState`, or None) and ``now``, it returns what to remember, the message to send
(or None) and why.

* A new problem is told at once (for ``advertiser_unreachable``: once the failure count reaches the threshold).
* A problem still present is told again only after its kind's cooldown (a "repeat").
* A problem that clears after it was told gives a recovery message; one that clears before it was told is
  forgotten silently.

The problem books keep the states per (kind, subject) and write every change to the store (``ops_states``), so a
problem told once is not told again after a restart or by the next cron'd ``once``. ``OpsAlerts.record``
(:mod:`monitor.ops_alerts`) writes the change and queues its message in the outbox at once, in one transaction of
their own (not the poll's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from monitor.domain import Account, OpsKind, OpsState
from monitor.durations import format_duration
from monitor.notify.message import OperationalMessage


@dataclass(frozen=True)
class OpsPolicy:
    """How often operational problems are told: ``cooldown`` (or a per-kind one) and the unreachable threshold."""

    cooldown: timedelta = timedelta(hours=6)
    cooldowns: Mapping[OpsKind, timedelta] = field(default_factory=lambda: MappingProxyType({}))
    unreachable_after: int = 3

    def cooldown_for(self, kind: OpsKind) -> timedelta:
        return self.cooldowns.get(kind, self.cooldown)


@dataclass(frozen=True)
class OpsEvent:
    """What the latest poll (or rules reload) showed about one problem of one subject."""

    kind: OpsKind
    subject: str  # the advertiser id, or "rules"
    failing: bool  # True: the problem is present now; False: it is not
    detail: str = ""  # the error, for people
    advertiser: Account | None = None
    failures: int = 1  # consecutive failed polls, for advertiser_unreachable


@dataclass(frozen=True)
class OpsDecision:
    state: OpsState | None  # what to remember (None: forget)
    message: OperationalMessage | None  # what to send (None: nothing)
    reason: str


def decide(event: OpsEvent, previous: OpsState | None, now: datetime, policy: OpsPolicy | None = None) -> OpsDecision:
    """Whether to tell people about an operational problem now (see the module docstring)."""
    policy = policy or OpsPolicy()
    if not event.failing:
        if previous is None:
            return OpsDecision(None, None, "no problem")
        if not previous.notified:
            return OpsDecision(None, None, "cleared before it was told")
        message = OperationalMessage(
            event.kind, event.subject, previous.detail, previous.since, now, recovered=True, advertiser=event.advertiser
        )
        return OpsDecision(None, message, f"recovered after {format_duration(now - previous.since)}")

    state = OpsState(
        event.kind,
        event.subject,
        since=previous.since if previous else now,
        notified=previous.notified if previous else False,
        last_notified_at=previous.last_notified_at if previous else None,
        failures=event.failures,
        detail=event.detail,
    )
    if event.kind is OpsKind.ADVERTISER_UNREACHABLE and event.failures < policy.unreachable_after:
        return OpsDecision(state, None, f"{event.failures} of {policy.unreachable_after} failed polls: not yet")
    if not state.notified or state.last_notified_at is None:
        return _tell(state, event, now, repeat=False, reason="new problem")
    cooldown = policy.cooldown_for(event.kind)
    if now - state.last_notified_at >= cooldown:
        return _tell(state, event, now, repeat=True, reason=f"still failing {cooldown} after it was told")
    until = state.last_notified_at + cooldown
    return OpsDecision(state, None, f"told at {state.last_notified_at.isoformat()}; quiet until {until.isoformat()}")


def _tell(state: OpsState, event: OpsEvent, now: datetime, *, repeat: bool, reason: str) -> OpsDecision:
    message = OperationalMessage(
        event.kind,
        event.subject,
        event.detail,
        state.since,
        now,
        repeat=repeat,
        advertiser=event.advertiser,
        failures=event.failures if event.kind is OpsKind.ADVERTISER_UNREACHABLE else None,
    )
    return OpsDecision(replace(state, notified=True, last_notified_at=now), message, reason)
