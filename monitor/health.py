"""``/healthz`` and ``/metrics``: what the daemon reports about itself over HTTP.

:class:`HealthState` collects the outcome of every poll (the scheduler's ``on_poll_done`` listener) with times
from an injected :class:`~monitor.clock.Clock`. Two pure functions decide from it:

* :func:`health_status` (``/healthz``): healthy while some advertiser's last successful poll is at most two
  intervals old. ``"ok"`` when every advertiser is fine, ``"degraded"`` (still 200) when some fail, are
  stale or are paused (not watched: token revoked, account not active; ``paused`` says why, ``since`` since
  when), ``"starting"`` (200) during the first two intervals before any success, ``"failing"`` (503) otherwise,
  and at once when discovery failed (or found no advertiser) while no advertiser is known.
  One account with a revoked token degrades the daemon; only when nothing succeeds is it unhealthy.
  With several replicas (``run`` processes sharing a database), only the advertisers of the shards this replica
  owns are judged and listed; ``replica`` shows this replica's ``id``, the replicas ``alive``, its
  ``owned_shards`` of ``shards``, and ``advertisers_by_replica`` (which replica polls which advertiser), so the
  others are summed up without degrading this one. A replica that owns none is ``ok``.
  ``storage`` shows the database (monitor.storage): its bytes, its disk's free bytes (null when unknown, as on
  PostgreSQL) and ``problem``; a full database or a disk below ``[storage] min_free`` makes an ``ok`` (or
  ``starting``) daemon ``degraded`` and leads the ``reason`` of any status.
  ``breaker`` shows the actions' circuit breaker (``state`` open or closed, ``since``, ``writes_in_window``; null
  until the daemon first read it); an open breaker holds writes back but does not change the status.

``/healthz`` proves that advertisers are *watched*; it is not what the systemd watchdog pings on. The watchdog
proves that the event loop is alive and the scheduler runs (see :mod:`monitor.sdnotify`): restarting helps a
stuck process, not a TikTok outage, a revoked token or a legitimate rate-limit pause, which ``/healthz`` shows.

:class:`~monitor.healthserver.HealthServer` serves both endpoints with aiohttp (:mod:`monitor.healthserver`, on
:mod:`monitor.appserver`, behind :mod:`monitor.hostcheck`), on 127.0.0.1 unless told otherwise: the details name
advertisers and error messages (never secrets), which is for the operator, not the internet.

This module is the health document; it re-exports the HTTP side's names (``HealthServer``, ``AppServer``,
``build_app``, ``host_middleware``, ``parse_listen``) for those who import them from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor import __version__
from monitor.appserver import AppServer, parse_listen
from monitor.clock import Clock
from monitor.healthserver import HealthServer, build_app
from monitor.hostcheck import host_middleware
from monitor.polls import PollOutcome, PollResult
from monitor.store.shards import SHARD_COUNT, Assignment

__all__ = [
    "AdvertiserHealth",
    "AppServer",
    "HealthServer",
    "HealthState",
    "build_app",
    "health_status",
    "host_middleware",
    "parse_listen",
]

STALE_AFTER_INTERVALS = 2


@dataclass
class AdvertiserHealth:
    """What is known about one advertiser's polls."""

    last_ok_at: datetime | None = None
    last_poll_at: datetime | None = None  # when the last poll finished, ok or not
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    last_duration_s: float | None = None
    paused: str | None = None  # why the advertiser is not polled now (token revoked, account not active)
    since: datetime | None = None  # since when it is not watched (paused or failing)


class HealthState:
    """The daemon's health as the scheduler reports it. Mutated only on the event loop."""

    def __init__(self, *, clock: Clock, interval: timedelta, version: str = __version__) -> None:
        self.clock = clock
        self.interval = interval
        self.version = version
        self.started_at = clock.now()
        self.advertisers: dict[str, AdvertiserHealth] = {}
        self.discovery_error: str | None = None  # the last discovery's error (None: it worked, or none ran)
        self.breaker: dict[str, Any] | None = None  # the actions' circuit breaker, as the daemon last read it
        self.assignment: Assignment | None = None  # who owns which shards (None: one process polls everything)
        self.storage: dict[str, Any] | None = None  # the database, as monitor.storage.StorageWatch last saw it
        self.storage_problem: str | None = None  # why the database is a problem (full, disk nearly full)

    def owns(self, advertiser_id: str) -> bool:
        """Whether this replica polls the advertiser (always, without an assignment)."""
        return self.assignment is None or self.assignment.owner_of(advertiser_id) == self.assignment.replica

    def set_assignment(self, assignment: Assignment) -> None:
        """Record who owns which shards, after each heartbeat of this replica (monitor.replicas)."""
        self.assignment = assignment

    def poll_done(self, outcome: PollOutcome) -> None:
        """Record one finished poll (the scheduler's ``on_poll_done`` listener). The failure streak is the
        poller's, as the outcome carries it."""
        if outcome.result is PollResult.NOT_MINE:  # another replica polls it: nothing to record here
            return
        now = self.clock.now()
        entry = self.advertisers.setdefault(outcome.advertiser_id, AdvertiserHealth())
        entry.last_poll_at = now
        entry.last_duration_s = outcome.seconds
        entry.consecutive_failures = outcome.consecutive_failures
        entry.paused = outcome.reason if outcome.result is PollResult.PAUSED else None
        entry.since = outcome.since
        if outcome.result is PollResult.OK:
            entry.last_ok_at = now
        elif outcome.result is PollResult.FAILED:
            entry.last_error = outcome.reason or "unknown error"
            entry.last_error_at = now

    def discovery_done(self, error: str | None) -> None:
        """Record one discovery's result (the scheduler's ``on_discovery`` listener)."""
        self.discovery_error = error

    def breaker_done(self, is_open: bool, since: datetime | None, writes: int) -> None:
        """Record the circuit breaker as read from the store (the daemon does after each outbox run): open or
        closed since when (None: it never opened), and the real writes counted in its window."""
        self.breaker = {"state": "open" if is_open else "closed", "since": _iso(since), "writes_in_window": writes}

    def storage_done(self, problem: str | None, details: dict[str, Any]) -> None:
        """Record the database's state (the daemon does after each poll and measurement): ``problem`` (None: fine)
        and the ``storage`` details."""
        self.storage_problem, self.storage = problem, details

    def set_advertisers(self, advertiser_ids: Iterable[str]) -> None:
        """The advertisers being polled now: new ones show as pending, removed ones are forgotten."""
        wanted = list(advertiser_ids)
        self.advertisers = {a: self.advertisers.get(a) or AdvertiserHealth() for a in wanted}

    def status(self) -> tuple[bool, dict[str, Any]]:
        """:func:`health_status` now."""
        return health_status(self, self.clock.now(), self.interval)

    def is_healthy(self) -> bool:
        return self.status()[0]


def advertiser_status(entry: AdvertiserHealth, now: datetime, interval: timedelta) -> str:
    """``pending`` (never polled), ``paused`` (not polled on purpose: not watched), ``failing`` (last poll failed),
    ``stale`` (no success lately), or ``ok``."""
    if entry.last_poll_at is None:
        return "pending"
    if entry.paused is not None:
        return "paused"
    if entry.consecutive_failures:
        return "failing"
    if entry.last_ok_at is None or now - entry.last_ok_at > STALE_AFTER_INTERVALS * interval:
        return "stale"
    return "ok"


def health_status(state: HealthState, now: datetime, interval: timedelta) -> tuple[bool, dict[str, Any]]:
    """Decide ``/healthz``: ``(healthy, details)``; details are the JSON body, ``reason`` says why.

    Pure: reads ``state`` and ``now`` only. See the module docstring for the rule.
    """
    window = STALE_AFTER_INTERVALS * interval
    uptime = now - state.started_at
    mine = {a: e for a, e in state.advertisers.items() if state.owns(a)}  # other replicas answer for the rest
    per_advertiser = {a: advertiser_status(e, now, interval) for a, e in mine.items()}
    successes = [e.last_ok_at for e in mine.values() if e.last_ok_at is not None]
    last_success = max(successes, default=None)
    troubled = sorted(a for a, s in per_advertiser.items() if s in ("failing", "stale", "paused"))
    pending = sorted(a for a, s in per_advertiser.items() if s == "pending")

    if last_success is not None and now - last_success <= window:
        if troubled:
            status, reason = (
                "degraded",
                f"{len(troubled)} of {len(per_advertiser)} advertisers {_troubles(troubled, per_advertiser)}",
            )
        elif pending:
            status, reason = "ok", f"{len(pending)} advertisers not polled yet"
        else:
            status, reason = "ok", "every advertiser polled successfully within two intervals"
    elif not mine and state.advertisers and state.assignment is not None:
        status = "ok"
        reason = f"this replica polls none of the {len(state.advertisers)} advertisers: other replicas own their shards"
    elif not state.advertisers and state.discovery_error is not None:
        status, reason = "failing", f"nothing is watched: {state.discovery_error}"
    elif uptime <= window:
        status, reason = "starting", f"no successful poll yet; started {_human(uptime)} ago"
    elif not state.advertisers:
        status, reason = "failing", "no advertisers to poll"
    else:
        since = "ever" if last_success is None else f"in {_human(now - last_success)}"
        status, reason = "failing", f"no successful poll {since} (limit: two intervals, {_human(window)})"

    if state.storage_problem is not None:  # the database first: it is why the rest fails, or soon will
        status = "degraded" if status in ("ok", "starting") else status
        reason = f"{state.storage_problem}; {reason}"
    healthy = status != "failing"
    details: dict[str, Any] = {
        "status": status,
        "ok": healthy,
        "reason": reason,
        "version": state.version,
        "now": now.isoformat(),
        "started_at": state.started_at.isoformat(),
        "uptime_s": round(uptime.total_seconds(), 3),
        "interval_s": interval.total_seconds(),
        "last_success_at": _iso(last_success),
        "discovery_error": state.discovery_error,
        "breaker": state.breaker,
        "storage": state.storage,
        "replica": _replica(state),
        "advertisers": {
            a: {
                "status": per_advertiser[a],
                "last_ok_at": _iso(e.last_ok_at),
                "last_poll_at": _iso(e.last_poll_at),
                "last_error": e.last_error,
                "last_error_at": _iso(e.last_error_at),
                "consecutive_failures": e.consecutive_failures,
                "paused": e.paused,
                "since": _iso(e.since),
                "last_duration_s": None if e.last_duration_s is None else round(e.last_duration_s, 3),
            }
            for a, e in sorted(mine.items())
        },
    }
    return healthy, details


def _replica(state: HealthState) -> dict[str, Any] | None:
    """This replica's id, the live replicas, its shards, and which replica polls which advertiser (null without an
    assignment)."""
    assignment = state.assignment
    if assignment is None:
        return None
    owners: dict[str, list[str]] = {}
    unowned: list[str] = []
    for advertiser_id in sorted(state.advertisers):
        owner = assignment.owner_of(advertiser_id)
        if owner is None:
            unowned.append(advertiser_id)
        else:
            owners.setdefault(owner, []).append(advertiser_id)
    return {
        "id": assignment.replica,
        "alive": list(assignment.alive),
        "shards": SHARD_COUNT,
        "owned_shards": len(assignment.mine),
        "advertisers_by_replica": owners,
        "unowned_advertisers": unowned,
    }


def _troubles(troubled: list[str], per_advertiser: dict[str, str]) -> str:
    """``"failing or stale"``, or with paused ones ``"failing, stale or paused"``."""
    if any(per_advertiser[a] == "paused" for a in troubled):
        return "failing, stale or paused"
    return "failing or stale"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
