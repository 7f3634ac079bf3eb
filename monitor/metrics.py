"""Prometheus metrics of the daemon, kept in their own CollectorRegistry (never the process-global one).

One :class:`Metrics` object is built by the composition root and handed to whoever records something: the
scheduler's poll listener, the client (API calls, throttles), the pipeline (findings, actions) and the outbox
(notifications). ``/metrics`` (:mod:`monitor.health`) serves ``metrics.registry``.

Label values are bounded by configuration (endpoints, rule names, channels, advertisers), never by data.
The series, all prefixed ``tiktok_monitor_``:

- ``polls_total{result}``: ok | failed | paused (not polled on purpose: token revoked, account not active; not
  watched) | skipped (due, but the previous poll still ran, or too late)
- ``unwatched_advertisers{state}``: advertisers not watched now: their last poll was ``paused`` or failed (``failing``)
- ``poll_duration_seconds``: histogram of one advertiser's poll (the cycle duration)
- ``advertiser_last_success_timestamp_seconds{advertiser_id}``: unix time of the last good poll
- ``advertiser_consecutive_failures{advertiser_id}``: failed polls in a row, 0 after a good one
- ``api_calls_total{endpoint,result}``: endpoint like ``campaign/get/``; result ok or the error class name
- ``api_throttles_total{scope}``: throttled answers by scope, app (40100, HTTP 429) | endpoint (40016, one
  endpoint of the app) | advertiser (40133), and local (our own limiter made a request wait)
- ``api_throttle_episodes_total{scope}``: throttle episodes begun (app | endpoint | advertiser): the answers to
  requests in flight when TikTok starts throttling make one episode and one pause; it ends a minute after its
  last pause passes without another (:mod:`monitor.tiktok.throttle`). Many answers per episode are normal;
  episodes often (``increase(...[1h])``) mean something else spends the app's budget: a monitor process on
  another database or with ``[tiktok] shared_budget = false``, or another tool (lower ``max_qps`` in each)
- ``findings_total{rule,severity}``, ``actions_total{type,outcome}``
- ``notifications_total{channel,result}``: per configured channel (slack, email, webhook; ``slack:#ops`` counts as
  slack): sent | failed (will retry) | dropped (given up)
- ``firing_alerts{rule,severity}``: alerts firing now (resolving ones too: false at one poll, not resolved yet),
  set after each poll from the alert states of the advertisers this replica polls (``sum by (rule, severity)``
  over replicas for the fleet); a rule that stops firing goes back to 0
- ``outbox_pending``: notifications waiting to be sent (pending outbox rows, counted after each outbox run);
  ``build_info{version}``: always 1
- ``circuit_breaker_open``: 1 while the actions' circuit breaker is open (writes held back), else 0;
  ``circuit_breaker_writes``: the real writes it counts in its window (every advertiser and replica), read after
  each outbox run
- ``replica_owned_shards`` / ``replica_owned_advertisers``: the shards (of 64) and the advertisers this replica polls
  (several ``run`` replicas share the advertisers); ``replicas_alive``: the replicas it saw alive at its last
  heartbeat. Polls of advertisers another replica owns are not counted in ``polls_total``
- ``database_bytes{backend}``: the database on disk (SQLite: the file and its write-ahead log; PostgreSQL:
  ``pg_database_size``); ``database_free_bytes{backend}``: free space of the disk it is on, SQLite only (a
  PostgreSQL server's disk is not visible to a client: not exported); both measured at most once a minute;
  ``database_full``: 1 while polls cannot be stored because the database or its disk is full, else 0
- ``extra_polls_total{reason}``: polls outside the schedule (:mod:`monitor.pollsoon`): adaptive | webhook
- ``webhook_notices_total{result}``: REPORT_DATA_CHANGE notices received (:mod:`monitor.webhook`): accepted |
  duplicate (delivered again: at-least-once) | refused (HTTP 400: not a notice)
- ``process_*``: CPU, memory, open files of this process (Linux)
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from monitor import __version__
from monitor.polls import PollOutcome, PollResult
from monitor.store.shards import Assignment
from monitor.store.size import StorageSize

__all__ = ["POLL_BUCKETS", "Metrics"]

#: ``polls_total``'s result label per poll outcome.
_POLL_RESULT = {PollResult.OK: "ok", PollResult.FAILED: "failed", PollResult.PAUSED: "paused"}
#: ``unwatched_advertisers``'s state label per poll outcome (ok: watched).
_NOT_WATCHED = {PollResult.FAILED: "failing", PollResult.PAUSED: "paused"}

#: Poll durations: a small account takes well under a second, a large one with reports tens of seconds.
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, float("inf"))


class Metrics:
    """The daemon's counters, gauges and histograms in ``registry`` (a new one unless given).

    Every ``record``-style method is cheap and never raises for ordinary input; call them from anywhere on
    the event loop. :meth:`poll_done` and :meth:`poll_skipped` match the scheduler's listener signatures.
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, namespace: str = "tiktok_monitor") -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        ns, reg = namespace, self.registry
        self._advertisers: set[str] = set()  # those with per-advertiser series
        ProcessCollector(registry=reg)  # process_cpu_seconds_total, process_resident_memory_bytes, ... on Linux
        self._polls = Counter("polls", "Advertiser polls by result", ["result"], namespace=ns, registry=reg)
        self._poll_duration = Histogram(
            "poll_duration_seconds",
            "Duration of one advertiser's poll",
            namespace=ns,
            registry=reg,
            buckets=POLL_BUCKETS,
        )
        self._last_success = Gauge(
            "advertiser_last_success_timestamp_seconds",
            "Unix time of the advertiser's last successful poll",
            ["advertiser_id"],
            namespace=ns,
            registry=reg,
        )
        self._failures = Gauge(
            "advertiser_consecutive_failures",
            "Failed polls of the advertiser in a row",
            ["advertiser_id"],
            namespace=ns,
            registry=reg,
        )
        self._api_calls = Counter(
            "api_calls",
            "Business API requests by endpoint and result",
            ["endpoint", "result"],
            namespace=ns,
            registry=reg,
        )
        self._throttles = Counter(
            "api_throttles", "Rate-limit answers and local waits by scope", ["scope"], namespace=ns, registry=reg
        )
        self._throttle_episodes = Counter(
            "api_throttle_episodes", "Throttle episodes begun, by scope", ["scope"], namespace=ns, registry=reg
        )
        self._firing = Gauge(
            "firing_alerts",
            "Alerts firing now by rule and severity (the advertisers this replica polls)",
            ["rule", "severity"],
            namespace=ns,
            registry=reg,
        )
        self._firing_of: dict[str, Mapping[tuple[str, str], int]] = {}  # advertiser -> its counts after its poll
        self._firing_labels: set[tuple[str, str]] = set()
        self._findings = Counter(
            "findings", "Rule findings by rule and severity", ["rule", "severity"], namespace=ns, registry=reg
        )
        self._actions = Counter(
            "actions", "Actions by type and outcome", ["type", "outcome"], namespace=ns, registry=reg
        )
        self._notifications = Counter(
            "notifications", "Notifications by channel and result", ["channel", "result"], namespace=ns, registry=reg
        )
        self._extra_polls = Counter(
            "extra_polls", "Polls outside the schedule by reason", ["reason"], namespace=ns, registry=reg
        )
        self._notices = Counter(
            "webhook_notices", "REPORT_DATA_CHANGE notices received by result", ["result"], namespace=ns, registry=reg
        )
        self._outbox_pending = Gauge("outbox_pending", "Notifications waiting to be sent", namespace=ns, registry=reg)
        self._breaker_open = Gauge(
            "circuit_breaker_open", "1 while the actions' circuit breaker holds writes back", namespace=ns, registry=reg
        )
        self._breaker_writes = Gauge(
            "circuit_breaker_writes", "Real writes counted in the circuit breaker's window", namespace=ns, registry=reg
        )
        build = Gauge("build_info", "The running version", ["version"], namespace=ns, registry=reg)
        build.labels(version=__version__).set(1)
        self._not_watched = Gauge(
            "unwatched_advertisers",
            "Advertisers whose last poll was paused or failed",
            ["state"],
            namespace=ns,
            registry=reg,
        )
        self._unwatched: dict[str, str] = {}  # advertiser -> "paused" | "failing"
        self._owned_shards = Gauge(
            "replica_owned_shards", "Shards this replica owns (polls the advertisers of)", namespace=ns, registry=reg
        )
        self._owned_advertisers = Gauge(
            "replica_owned_advertisers", "Advertisers this replica polls", namespace=ns, registry=reg
        )
        self._replicas_alive = Gauge(
            "replicas_alive", "Replicas alive at this replica's last heartbeat", namespace=ns, registry=reg
        )
        self._database_bytes = Gauge(
            "database_bytes", "The database's bytes on disk", ["backend"], namespace=ns, registry=reg
        )
        self._database_free = Gauge(
            "database_free_bytes", "Free bytes of the database's disk (SQLite)", ["backend"], namespace=ns, registry=reg
        )
        self._database_full = Gauge(
            "database_full", "1 while polls cannot be stored: the database is full", namespace=ns, registry=reg
        )
        self._all_advertisers: list[str] = []
        self._assignment: Assignment | None = None
        for state in ("paused", "failing"):
            self._not_watched.labels(state=state).set(0)
        for result in ("ok", "failed", "paused", "skipped"):
            self._polls.labels(result=result)  # present at 0 from the start, so rate() sees the first one

    # --- the scheduler's listeners ---------------------------------------------------------------------------

    def poll_done(self, outcome: PollOutcome) -> None:
        """One poll finished (the scheduler's ``on_poll_done`` listener): counted by result, with the
        poller's failure streak. A paused advertiser is counted as ``paused``, never as ``ok``."""
        advertiser_id = outcome.advertiser_id
        if outcome.result is PollResult.NOT_MINE:  # another replica polls it: its series are that replica's
            self._forget([advertiser_id])
            self._count_unwatched()
            return
        self._polls.labels(result=_POLL_RESULT[outcome.result]).inc()
        self._poll_duration.observe(max(outcome.seconds, 0.0))
        self._advertisers.add(advertiser_id)
        self._failures.labels(advertiser_id=advertiser_id).set(outcome.consecutive_failures)
        if outcome.ok:
            self._last_success.labels(advertiser_id=advertiser_id).set_to_current_time()
            self._unwatched.pop(advertiser_id, None)
        else:
            self._unwatched[advertiser_id] = _NOT_WATCHED[outcome.result]
        self._count_unwatched()
        if outcome.summary is not None:
            for (rule, severity), count in outcome.summary.findings_by_rule.items():
                self.finding(rule, severity, count)
            self._firing_of[advertiser_id] = outcome.summary.firing_by_rule
            self._count_firing()

    def poll_skipped(self, advertiser_id: str, reason: str) -> None:
        """A due poll did not run: the previous one still ran, or it was too late (``on_poll_skipped``)."""
        self._polls.labels(result="skipped").inc()

    def set_advertisers(self, advertiser_ids: list[str]) -> None:
        """Forget the per-advertiser series of advertisers no longer polled (the scheduler's ``on_advertisers``)."""
        self._forget(self._advertisers - set(advertiser_ids))
        for advertiser_id in set(self._unwatched) - set(advertiser_ids):
            del self._unwatched[advertiser_id]
        self._count_unwatched()
        self._all_advertisers = list(advertiser_ids)
        self._count_owned()

    def set_assignment(self, assignment: Assignment) -> None:
        """Who owns which shards, after each heartbeat of this replica (monitor.replicas)."""
        self._assignment = assignment
        self._owned_shards.set(len(assignment.mine))
        self._replicas_alive.set(len(assignment.alive))
        self._count_owned()

    def _count_owned(self) -> None:
        assignment = self._assignment
        if assignment is not None:
            owned = sum(1 for a in self._all_advertisers if assignment.owner_of(a) == assignment.replica)
            self._owned_advertisers.set(owned)

    def _forget(self, advertiser_ids: set[str] | list[str]) -> None:
        for advertiser_id in advertiser_ids:
            for gauge in (self._last_success, self._failures):
                with contextlib.suppress(KeyError):  # never recorded for this one
                    gauge.remove(advertiser_id)
            self._advertisers.discard(advertiser_id)
            self._unwatched.pop(advertiser_id, None)
            if self._firing_of.pop(advertiser_id, None) is not None:
                self._count_firing()

    def _count_firing(self) -> None:
        """``firing_alerts`` from each advertiser's counts after its newest poll; a (rule, severity) that fires
        nowhere any more goes back to 0."""
        totals: dict[tuple[str, str], int] = dict.fromkeys(self._firing_labels, 0)
        for counts in self._firing_of.values():
            for label, count in counts.items():
                totals[label] = totals.get(label, 0) + count
        for (rule, severity), count in totals.items():
            self._firing.labels(rule=rule, severity=severity).set(count)
        self._firing_labels = set(totals)

    def _count_unwatched(self) -> None:
        for state in ("paused", "failing"):
            self._not_watched.labels(state=state).set(sum(1 for s in self._unwatched.values() if s == state))

    # --- the client, pipeline and outbox ------------------------------------------------------------------

    def api_call(self, endpoint: str, result: str = "ok") -> None:
        """One Business API request finished; ``result`` is ``ok`` or the error's class name."""
        self._api_calls.labels(endpoint=endpoint, result=result).inc()

    def throttled(self, scope: str) -> None:
        """The API said slow down (``app`` 40100, ``endpoint`` 40016, ``advertiser`` 40133), or the local
        limiter made a request wait (``local``)."""
        self._throttles.labels(scope=scope).inc()

    def throttle_episode(self, scope: str) -> None:
        """A throttle episode began (``app``, ``endpoint`` or ``advertiser``): the limiter paused that scope."""
        self._throttle_episodes.labels(scope=scope).inc()

    def finding(self, rule: str, severity: str, count: int = 1) -> None:
        """``count`` entities matched ``rule`` in one poll."""
        self._findings.labels(rule=rule, severity=severity).inc(count)

    def action(self, action_type: str, outcome: str) -> None:
        """``outcome``: applied | dry_run | blocked (a guard said no) | failed | awaiting_approval (queued for a
        person: a rule with ``approve``)."""
        self._actions.labels(type=action_type, outcome=outcome).inc()

    def notification(self, channel: str, result: str, count: int = 1) -> None:
        """``count`` messages to ``channel`` (its configured name: slack, email, webhook) ended so: ``result`` is
        sent | failed (will retry) | dropped (gave up)."""
        self._notifications.labels(channel=channel, result=result).inc(count)

    def extra_poll(self, reason: str) -> None:
        """One poll outside the schedule began: ``reason`` adaptive | webhook."""
        self._extra_polls.labels(reason=reason).inc()

    def notice(self, result: str) -> None:
        """One REPORT_DATA_CHANGE notice: ``result`` accepted | duplicate | refused."""
        self._notices.labels(result=result).inc()

    def set_breaker(self, is_open: bool, writes: int) -> None:
        """The circuit breaker as read from the store (the daemon does after each outbox run)."""
        self._breaker_open.set(1 if is_open else 0)
        self._breaker_writes.set(writes)

    def set_storage(self, size: StorageSize | None, full: bool) -> None:
        """The database's size and free disk as last measured (None: not yet), and whether it is full now."""
        if size is not None:
            self._database_bytes.labels(backend=size.backend).set(size.bytes)
            if size.free_bytes is not None:
                self._database_free.labels(backend=size.backend).set(size.free_bytes)
        self._database_full.set(1 if full else 0)

    def set_outbox_pending(self, count: int) -> None:
        """The pending outbox rows, every channel together (the daemon counts them after each outbox run)."""
        self._outbox_pending.set(count)
