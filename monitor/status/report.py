"""What ``tiktok-monitor status`` shows, as typed values (:class:`StatusReport`): built by
:mod:`monitor.status.collect` from the database, printed by :mod:`monitor.status.render_text` and
:mod:`monitor.status.render_json`. Pure: no I/O here. Times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.domain import Hold, MetricValue
from monitor.domain.approvals import Approval

#: The alert states ``status`` lists: firing, resolving (false once, not yet resolved: still firing) and pending.
SHOWN_ALERT_STATES = ("firing", "resolving", "pending")


@dataclass(frozen=True)
class LastPoll:
    """The advertiser's newest poll that ran to an end: when it started, ``ok`` or ``failed``, and why."""

    at: datetime
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class Problem:
    """An operational problem the monitor remembers for an advertiser (``ops_states``): token revoked, permission
    lost, account limited, unreachable."""

    kind: str
    since: datetime
    detail: str
    failures: int


@dataclass(frozen=True)
class Paused:
    """Why the advertiser is not polled (its polls come back paused at once): the problem, its detail, since."""

    reason: str
    since: datetime


@dataclass(frozen=True)
class AdvertiserStatus:
    """One advertiser: its newest finished poll (None: none yet), when its poll job fires next, whether it is
    paused and why, its open operational problems, and which replica of ``run`` polls it."""

    id: str
    name: str | None
    last_poll: LastPoll | None
    next_poll_at: datetime
    paused: Paused | None = None
    problems: tuple[Problem, ...] = ()
    polled_by: str | None = None  # the live replica that owns its shard (None: no live replica does)


@dataclass(frozen=True)
class AlertStatus:
    """A firing (or resolving) or pending alert: the rule (and its severity, when the rule file still has the
    rule), the entity (and its current name), since when it is in this state, when it was last notified, and the
    values the rule saw."""

    advertiser_id: str
    rule: str
    severity: str | None
    state: str
    level: str
    entity_id: str
    since: datetime
    last_notified_at: datetime | None
    values: Mapping[str, MetricValue]
    entity_name: str | None = None  # as TikTok names it now (None: not known)


@dataclass(frozen=True)
class BreakerView:
    """The actions' circuit breaker: open or not, the real writes it counts and its limit, the newest episode."""

    open: bool
    writes: int
    max_writes: int
    window: timedelta
    counted_from: datetime
    opened_at: datetime | None = None
    reason: str | None = None
    closes_at: datetime | None = None  # when an open breaker closes by itself
    held_count: int = 0
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass(frozen=True)
class Backlog:
    """The pending notifications of one channel (as rows name it: ``slack``, ``slack:#ops``)."""

    channel: str
    pending: int
    retrying: int
    oldest: datetime


@dataclass(frozen=True)
class StatusReport:
    """Everything ``status`` shows, as of ``now``. ``silences`` are the silence provider's ``to_json()`` dicts
    ({id, matchers, starts_at, ends_at, created_by, comment}); ``notes`` say what could not be read (e.g. the
    rule files, for severities)."""

    now: datetime
    interval: timedelta
    replicas: tuple[str, ...] = ()  # the replicas of ``run`` alive now (by heartbeat): none, nothing polls
    advertisers: tuple[AdvertiserStatus, ...] = ()
    alerts: tuple[AlertStatus, ...] = ()
    silences: tuple[Mapping[str, Any], ...] = ()
    approvals: tuple[Approval, ...] = ()  # actions waiting for a person (pending, not expired), oldest first
    holds: tuple[Hold, ...] = ()
    breaker: BreakerView | None = None
    outbox: tuple[Backlog, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def alerts_in(self, *states: str) -> list[AlertStatus]:
        return [alert for alert in self.alerts if alert.state in states]
