"""Operational alerts: the monitor's own problems, told with their own cooldown, and told again when they clear.

Four kinds (monitor.notify.message.OpsKind): ``token_revoked`` (re-authorize), ``advertiser_unreachable`` (after
``unreachable_after`` failed polls in a row), ``permission_lost`` and ``rules_reload_failed``. :func:`decide` is
pure: given what happened now (an :class:`OpsEvent`: the problem is present, or it is not), what was remembered
(an :class:`OpsState`, or None) and ``now``, it returns what to remember, the message to send (or None) and why.

* A new problem is told at once (for ``advertiser_unreachable``: once the failure count reaches the threshold).
* A problem still present is told again only after its kind's cooldown (a "repeat").
* A problem that clears after it was told gives a recovery message; one that clears before it was told is
  forgotten silently.

The pipeline persists the state as an AlertState (:func:`to_alert_state` / :func:`from_alert_state`) with rule
``_ops/<kind>`` and the subject (advertiser id) as entity id, in the same transaction as the outbox row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from monitor.domain import Account, AlertState, Level
from monitor.notify.message import OperationalMessage, OpsKind

RULE_PREFIX = "_ops/"
_NOTIFIED, _PENDING = "firing", "pending"


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
class OpsState:
    """What is remembered about one (kind, subject) between polls."""

    kind: OpsKind
    subject: str
    since: datetime
    notified: bool = False
    last_notified_at: datetime | None = None
    failures: int = 0
    detail: str = ""


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
        return OpsDecision(None, message, f"recovered after {now - previous.since}")

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


# --- persistence as alert states ---------------------------------------------------------------------------------


def rule_name(kind: OpsKind) -> str:
    return f"{RULE_PREFIX}{kind.value}"


def to_alert_state(state: OpsState, advertiser_id: str) -> AlertState:
    """The state as an AlertState row of ``advertiser_id`` (rule ``_ops/<kind>``, entity id = subject)."""
    return AlertState(
        rule=rule_name(state.kind),
        advertiser_id=advertiser_id,
        level=Level.ADVERTISER,
        entity_id=state.subject,
        state=_NOTIFIED if state.notified else _PENDING,
        since=state.since,
        last_notified_at=state.last_notified_at,
        values={"failures": state.failures, "detail": state.detail},
    )


def from_alert_state(alert: AlertState) -> OpsState | None:
    """The OpsState kept in an AlertState, or None if the row belongs to an ordinary rule."""
    if not alert.rule.startswith(RULE_PREFIX):
        return None
    failures, detail = alert.values.get("failures"), alert.values.get("detail")
    return OpsState(
        kind=OpsKind(alert.rule.removeprefix(RULE_PREFIX)),
        subject=alert.entity_id,
        since=alert.since,
        notified=alert.state == _NOTIFIED,
        last_notified_at=alert.last_notified_at,
        failures=failures if isinstance(failures, int) else 0,
        detail=detail if isinstance(detail, str) else "",
    )
