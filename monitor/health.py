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

:class:`HealthServer` serves both endpoints with aiohttp, on 127.0.0.1 unless told otherwise: the details name
advertisers and error messages (never secrets), which is for the operator, not the internet.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor import __version__
from monitor.clock import Clock
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


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9108"``, ``"[::1]:9108"``, ``"0.0.0.0:9108"`` -> ``(host, port)``; ValueError otherwise."""
    host, sep, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT like '127.0.0.1:9108', got {listen!r}")
    return host, int(port)


# --- the HTTP side -----------------------------------------------------------------------------------------


class _Handlers:
    def __init__(self, state: HealthState, registry: CollectorRegistry) -> None:
        self.state = state
        self.registry = registry

    async def healthz(self, request: web.Request) -> web.Response:
        ok, details = self.state.status()
        return web.Response(
            status=200 if ok else 503,
            text=json.dumps(details, indent=2) + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's ``Host`` may be answered: an IP address (v4 or v6, with or without a port),
    ``localhost``, or a name in ``allowed`` (``[health] allowed_hosts``). Any other DNS name is refused: that is
    how a web page reaches a loopback service through DNS rebinding."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:9108
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in {"localhost", *allowed}


def host_middleware(allowed_hosts: Iterable[str] = ()) -> Any:
    """An aiohttp middleware answering 421 to a request whose ``Host`` fails :func:`host_allowed`."""
    allowed = frozenset(h.lower().rstrip(".") for h in allowed_hosts)

    @web.middleware
    async def check_host(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), allowed):
            return web.Response(status=421, text="misdirected request: this Host is not allowed (allowed_hosts)\n")
        response: web.StreamResponse = await handler(request)
        return response

    return check_host


def build_app(state: HealthState, registry: CollectorRegistry, *, allowed_hosts: Iterable[str] = ()) -> web.Application:
    """The aiohttp application: ``GET /healthz`` (JSON) and ``GET /metrics`` (Prometheus text format), answering
    only requests whose ``Host`` passes :func:`host_allowed` (421 otherwise)."""
    handlers = _Handlers(state, registry)
    app = web.Application(middlewares=[host_middleware(allowed_hosts)])
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/metrics", handlers.metrics)
    return app


class AppServer:
    """Serves an aiohttp ``app`` on ``host:port`` (port 0 picks a free one; see :attr:`port` after start)."""

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", port: int = 9108) -> None:
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        self._host = host
        self._port = port
        self._bound: tuple[str, int] | None = None

    async def start(self) -> None:
        """Bind and serve; raises OSError when the address is taken."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        address = self._runner.addresses[0]
        self._bound = (address[0], address[1])

    async def stop(self) -> None:
        await self._runner.cleanup()
        self._bound = None

    @property
    def port(self) -> int:
        if self._bound is None:
            raise RuntimeError("HealthServer is not started")
        return self._bound[1]

    @property
    def url(self) -> str:
        """Base URL, like ``http://127.0.0.1:9108``."""
        if self._bound is None:
            raise RuntimeError("HealthServer is not started")
        host = f"[{self._bound[0]}]" if ":" in self._bound[0] else self._bound[0]
        return f"http://{host}:{self._bound[1]}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class HealthServer(AppServer):
    """Serves :func:`build_app` on ``host:port``; ``add_routes`` adds more to it (the status page beside it)."""

    def __init__(
        self,
        state: HealthState,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 9108,
        allowed_hosts: Iterable[str] = (),
        add_routes: Callable[[web.Application], None] | None = None,
    ) -> None:
        app = build_app(state, registry, allowed_hosts=allowed_hosts)
        if add_routes is not None:
            add_routes(app)
        super().__init__(app, host=host, port=port)
