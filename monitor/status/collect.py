"""Read the database into a :class:`~monitor.status.report.StatusReport`: what ``tiktok-monitor status`` shows.

Reads only (a handful of short read transactions), so it runs beside ``run`` (and its replicas) on the same
database. What comes from where:

* replicas: the replicas of ``run`` alive now (``replicas``, by heartbeat), and which one polls each advertiser
  (the owner of its shard, ``shards``);
* advertisers: the ``advertisers`` table (and the configured ids not polled yet); the newest finished poll is its
  ``last_poll_*`` columns (written by every poll that runs to an end, ok or failed); the next poll is computed
  from the interval and the advertiser's stable phase (:func:`monitor.scheduler.next_poll_at`); paused and why
  from the operational problems the pollers remember (``ops_states``): a revoked token, a lost permission or an
  account that is not active pause the advertiser's polls until it is fixed;
* alerts: ``alert_states`` in firing, resolving or pending, with the values the rule last saw and the entity's
  current name (``entities``); the severity is the loaded rule's (None for a rule no longer in the rule files);
* silences: those not yet ended (``store.silences``, pending ones included);
* approvals: the actions waiting for a person (``store.approvals.pending``: pending, not yet expired);
* holds: every live hold; the breaker: as ``tiktok-monitor actions status`` reads it; the outbox: its pending
  rows per channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.actions.base import GuardSettings
from monitor.domain import AlertState, Hold, Level, OpsKind, OpsState
from monitor.domain.approvals import Approval
from monitor.phases import next_poll_at
from monitor.status.report import (
    SHOWN_ALERT_STATES,
    AdvertiserStatus,
    AlertStatus,
    Backlog,
    BreakerView,
    LastPoll,
    Paused,
    Problem,
    StatusReport,
)
from monitor.store.breaker import BreakerStatus
from monitor.store.repo import Store
from monitor.store.shards import shard_of, timing
from monitor.store.values import AdvertiserRecord, OutboxBacklog

#: Problems that pause an advertiser's polls, and how ``status`` names them.
PAUSING = {
    OpsKind.TOKEN_REVOKED: "token revoked (re-authorize: tiktok-monitor auth login)",
    OpsKind.PERMISSION_LOST: "permission lost",
    OpsKind.ACCOUNT_LIMITED: "account not active",
}


class Silence(Protocol):
    """A silence as ``status`` shows it (``monitor.store.silences.Silence``)."""

    def to_json(self) -> Mapping[str, Any]: ...


class SilenceSource(Protocol):
    """Where the silences come from (``monitor.store.silences.Silences``)."""

    async def list(self, now: datetime) -> Sequence[Silence]: ...


async def collect(
    store: Store,
    now: datetime,
    *,
    interval: timedelta,
    guards: GuardSettings,
    configured: Iterable[str] = (),
    severities: Mapping[str, str] | None = None,
    silences: SilenceSource | None = None,
    notes: Sequence[str] = (),
) -> StatusReport:
    """The status at ``now``: ``interval`` is ``[monitor] interval`` (for the next polls), ``configured`` the
    advertiser ids of the configuration, ``severities`` rule name -> severity of the loaded rules; ``silences``:
    another source of silences than the store's."""
    records = await store.advertisers()
    ttl = timing(interval)[1]
    alive = await store.shards.alive(now, ttl)
    owners = (await store.shards.assignment("", now, ttl)).owners
    problems = await store.problems.all()
    alerts = await store.alerts.in_states(SHOWN_ALERT_STATES)
    names = await store.entity_names((a.advertiser_id, a.level, a.entity_id) for a in alerts)
    holds = await store.holds.live(now)
    breaker = await store.breaker.status(now, guards.window, guards.breaker_reset)
    backlog = await store.outbox.backlog()
    shown = await (silences or store.silences).list(now)
    waiting = await store.approvals.pending(now)
    return assemble(
        now,
        interval,
        records=records,
        configured=configured,
        replicas=alive,
        owners=owners,
        problems=problems,
        alerts=alerts,
        severities=severities or {},
        names=names,
        holds=holds,
        breaker=breaker,
        guards=guards,
        backlog=backlog,
        silences=[dict(silence.to_json()) for silence in shown],
        approvals=waiting,
        notes=notes,
    )


def assemble(
    now: datetime,
    interval: timedelta,
    *,
    records: Sequence[AdvertiserRecord],
    configured: Iterable[str],
    replicas: Sequence[str],
    owners: Mapping[int, tuple[str | None, int]],
    problems: Sequence[OpsState],
    alerts: Sequence[AlertState],
    severities: Mapping[str, str],
    holds: Sequence[Hold],
    breaker: BreakerStatus,
    guards: GuardSettings,
    backlog: Sequence[OutboxBacklog],
    names: Mapping[tuple[str, Level, str], str | None] | None = None,
    silences: Sequence[Mapping[str, Any]] = (),
    approvals: Sequence[Approval] = (),
    notes: Sequence[str] = (),
) -> StatusReport:
    """The report from what the store returned (pure). ``replicas`` are the live replicas, ``owners`` each
    shard's (owner, epoch), ``names`` the entities' current names."""
    by_subject: dict[str, list[OpsState]] = {}
    for problem in problems:
        by_subject.setdefault(problem.subject, []).append(problem)
    known = {record.id: record for record in records}
    ids = sorted(set(known) | set(configured))
    alive = set(replicas)
    advertisers = tuple(
        replace(
            advertiser_status(
                advertiser_id, known.get(advertiser_id), by_subject.get(advertiser_id, []), interval, now
            ),
            polled_by=owner if (owner := owners.get(shard_of(advertiser_id), (None, 0))[0]) in alive else None,
        )
        for advertiser_id in ids
    )
    shown = tuple(
        AlertStatus(
            advertiser_id=alert.advertiser_id,
            rule=alert.rule,
            severity=severities.get(alert.rule),
            state=alert.state,
            level=alert.level.value,
            entity_id=alert.entity_id,
            since=alert.since,
            last_notified_at=alert.last_notified_at,
            values=alert.values,
            entity_name=(names or {}).get((alert.advertiser_id, alert.level, alert.entity_id)),
        )
        for alert in alerts
        if alert.state in SHOWN_ALERT_STATES
    )
    return StatusReport(
        now=now,
        interval=interval,
        replicas=tuple(sorted(alive)),
        advertisers=advertisers,
        alerts=shown,
        silences=tuple(silences),
        approvals=tuple(a for a in approvals if not a.expired(now)),
        holds=tuple(hold for hold in holds if hold.live(now)),
        breaker=breaker_view(breaker, guards),
        outbox=tuple(Backlog(b.channel, b.pending, b.retrying, b.oldest) for b in backlog),
        notes=tuple(notes),
    )


def advertiser_status(
    advertiser_id: str,
    record: AdvertiserRecord | None,
    problems: Sequence[OpsState],
    interval: timedelta,
    now: datetime,
) -> AdvertiserStatus:
    """One advertiser's line: its newest finished poll, its next one, paused (the oldest pausing problem) or not."""
    last = None
    if record is not None and record.last_poll_at is not None and record.last_poll_status is not None:
        last = LastPoll(record.last_poll_at, record.last_poll_status.value, record.last_poll_error)
    pausing = sorted((p for p in problems if p.kind in PAUSING), key=lambda p: p.since)
    paused = None
    if pausing:
        first = pausing[0]
        reason = PAUSING[first.kind] + (f": {first.detail}" if first.detail else "")
        paused = Paused(reason, first.since)
    return AdvertiserStatus(
        id=advertiser_id,
        name=record.name if record is not None else None,
        last_poll=last,
        next_poll_at=next_poll_at(advertiser_id, interval, now),
        paused=paused,
        problems=tuple(
            Problem(p.kind.value, p.since, p.detail, p.failures) for p in sorted(problems, key=lambda p: p.since)
        ),
    )


def breaker_view(status: BreakerStatus, guards: GuardSettings) -> BreakerView:
    """The breaker as the report shows it: its state and count, and the newest episode's facts."""
    episode = status.episode
    if episode is None:
        return BreakerView(False, status.writes, guards.max_writes, guards.window, status.counted_from)
    return BreakerView(
        open=status.is_open,
        writes=status.writes,
        max_writes=guards.max_writes,
        window=guards.window,
        counted_from=status.counted_from,
        opened_at=episode.opened_at,
        reason=episode.reason,
        closes_at=episode.closes_at(guards.breaker_reset) if episode.is_open else None,
        held_count=episode.held_count,
        closed_at=episode.closed_at,
        closed_by=episode.closed_by,
    )
