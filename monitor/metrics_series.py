"""The Prometheus series of the daemon (:class:`Series`), each registered in the registry it is given (never the
process-global one); what records into them is :class:`monitor.metrics.Metrics`.

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
- ``maintenance_runs_total{result}``: runs of the hourly maintenance job (:mod:`monitor.maintenance`): ok |
  failed (logged by the scheduler); ``maintenance_last_success_timestamp_seconds``: unix time the last ok run ended
  (0 before the first); ``history_rows_deleted_total{by}``: history rows it deleted, by compaction (polls merged
  into their hour or day) | pruning (row by row: PostgreSQL drops expired days whole, not counted);
  ``history_partition_rewrites_total{result}`` (PostgreSQL): finished days' partitions rewritten to their kept rows
  | deferred to the next run (held back: a warning names what holds them; a partition deferred at three runs
  counts three)
- ``process_*``: CPU, memory, open files of this process (Linux)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from monitor import __version__

__all__ = ["POLL_BUCKETS", "Series"]

#: Poll durations: a small account takes well under a second, a large one with reports tens of seconds.
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, float("inf"))


class Series:
    """Every series of the daemon, registered in ``registry`` under ``namespace``, in this order; ``build_info`` is
    set, ``unwatched_advertisers``, ``polls_total`` and the maintenance counters present at 0 from the start."""

    def __init__(self, registry: CollectorRegistry, namespace: str) -> None:
        ns, reg = namespace, registry
        ProcessCollector(registry=reg)  # process_cpu_seconds_total, process_resident_memory_bytes, ... on Linux
        self.polls = Counter("polls", "Advertiser polls by result", ["result"], namespace=ns, registry=reg)
        self.poll_duration = Histogram(
            "poll_duration_seconds",
            "Duration of one advertiser's poll",
            namespace=ns,
            registry=reg,
            buckets=POLL_BUCKETS,
        )
        self.last_success = Gauge(
            "advertiser_last_success_timestamp_seconds",
            "Unix time of the advertiser's last successful poll",
            ["advertiser_id"],
            namespace=ns,
            registry=reg,
        )
        self.failures = Gauge(
            "advertiser_consecutive_failures",
            "Failed polls of the advertiser in a row",
            ["advertiser_id"],
            namespace=ns,
            registry=reg,
        )
        self.api_calls = Counter(
            "api_calls",
            "Business API requests by endpoint and result",
            ["endpoint", "result"],
            namespace=ns,
            registry=reg,
        )
        self.throttles = Counter(
            "api_throttles", "Rate-limit answers and local waits by scope", ["scope"], namespace=ns, registry=reg
        )
        self.throttle_episodes = Counter(
            "api_throttle_episodes", "Throttle episodes begun, by scope", ["scope"], namespace=ns, registry=reg
        )
        self.firing = Gauge(
            "firing_alerts",
            "Alerts firing now by rule and severity (the advertisers this replica polls)",
            ["rule", "severity"],
            namespace=ns,
            registry=reg,
        )
        self.findings = Counter(
            "findings", "Rule findings by rule and severity", ["rule", "severity"], namespace=ns, registry=reg
        )
        self.actions = Counter(
            "actions", "Actions by type and outcome", ["type", "outcome"], namespace=ns, registry=reg
        )
        self.notifications = Counter(
            "notifications", "Notifications by channel and result", ["channel", "result"], namespace=ns, registry=reg
        )
        self.extra_polls = Counter(
            "extra_polls", "Polls outside the schedule by reason", ["reason"], namespace=ns, registry=reg
        )
        self.notices = Counter(
            "webhook_notices", "REPORT_DATA_CHANGE notices received by result", ["result"], namespace=ns, registry=reg
        )
        self.outbox_pending = Gauge("outbox_pending", "Notifications waiting to be sent", namespace=ns, registry=reg)
        self.breaker_open = Gauge(
            "circuit_breaker_open", "1 while the actions' circuit breaker holds writes back", namespace=ns, registry=reg
        )
        self.breaker_writes = Gauge(
            "circuit_breaker_writes", "Real writes counted in the circuit breaker's window", namespace=ns, registry=reg
        )
        build = Gauge("build_info", "The running version", ["version"], namespace=ns, registry=reg)
        build.labels(version=__version__).set(1)
        self.not_watched = Gauge(
            "unwatched_advertisers",
            "Advertisers whose last poll was paused or failed",
            ["state"],
            namespace=ns,
            registry=reg,
        )
        self.owned_shards = Gauge(
            "replica_owned_shards", "Shards this replica owns (polls the advertisers of)", namespace=ns, registry=reg
        )
        self.owned_advertisers = Gauge(
            "replica_owned_advertisers", "Advertisers this replica polls", namespace=ns, registry=reg
        )
        self.replicas_alive = Gauge(
            "replicas_alive", "Replicas alive at this replica's last heartbeat", namespace=ns, registry=reg
        )
        self.database_bytes = Gauge(
            "database_bytes", "The database's bytes on disk", ["backend"], namespace=ns, registry=reg
        )
        self.database_free = Gauge(
            "database_free_bytes", "Free bytes of the database's disk (SQLite)", ["backend"], namespace=ns, registry=reg
        )
        self.database_full = Gauge(
            "database_full", "1 while polls cannot be stored: the database is full", namespace=ns, registry=reg
        )
        self.maintenance_runs = Counter(
            "maintenance_runs", "Runs of the hourly maintenance job by result", ["result"], namespace=ns, registry=reg
        )
        self.maintenance_last_success = Gauge(
            "maintenance_last_success_timestamp_seconds",
            "Unix time the last successful maintenance run ended",
            namespace=ns,
            registry=reg,
        )
        self.history_rows_deleted = Counter(
            "history_rows_deleted", "History rows maintenance deleted, by what", ["by"], namespace=ns, registry=reg
        )
        self.partition_rewrites = Counter(
            "history_partition_rewrites",
            "History partitions of finished days rewritten, or deferred to the next run (PostgreSQL)",
            ["result"],
            namespace=ns,
            registry=reg,
        )
        for state in ("paused", "failing"):
            self.not_watched.labels(state=state).set(0)
        for result in ("ok", "failed", "paused", "skipped"):
            self.polls.labels(result=result)  # present at 0 from the start, so rate() sees the first one
        for result in ("ok", "failed"):
            self.maintenance_runs.labels(result=result)
        for by in ("compaction", "pruning"):
            self.history_rows_deleted.labels(by=by)
        for result in ("rewritten", "deferred"):
            self.partition_rewrites.labels(result=result)
