"""Prometheus metrics of the daemon, kept in their own CollectorRegistry (never the process-global one).

One :class:`Metrics` object is built by the composition root and handed to whoever records something: the
scheduler's poll listener, the client (API calls, throttles), the pipeline (findings, actions), the outbox
(notifications) and the maintenance job (:mod:`monitor.maintenance`). ``/metrics`` (:mod:`monitor.healthserver`)
serves ``metrics.registry``.

The series (names, labels, what they mean) are :mod:`monitor.metrics_series`; ``POLL_BUCKETS`` is re-exported
here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from monitor.metrics_series import POLL_BUCKETS, Series
from monitor.polls import PollOutcome, PollResult
from monitor.store.shards import Assignment
from monitor.store.size import StorageSize

if TYPE_CHECKING:  # the store's maintenance modules are imported when it first runs
    from monitor.store.maintain import MaintenanceReport

__all__ = ["POLL_BUCKETS", "Metrics"]

#: ``polls_total``'s result label per poll outcome.
_POLL_RESULT = {PollResult.OK: "ok", PollResult.FAILED: "failed", PollResult.PAUSED: "paused"}
#: ``unwatched_advertisers``'s state label per poll outcome (ok: watched).
_NOT_WATCHED = {PollResult.FAILED: "failing", PollResult.PAUSED: "paused"}


class Metrics:
    """Records into the daemon's series (:class:`~monitor.metrics_series.Series`) in ``registry`` (a new one unless
    given).

    Every ``record``-style method is cheap and never raises for ordinary input; call them from anywhere on
    the event loop. :meth:`poll_done` and :meth:`poll_skipped` match the scheduler's listener signatures.
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, namespace: str = "tiktok_monitor") -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._series = Series(self.registry, namespace)
        self._advertisers: set[str] = set()  # those with per-advertiser series
        self._firing_of: dict[str, Mapping[tuple[str, str], int]] = {}  # advertiser -> its counts after its poll
        self._firing_labels: set[tuple[str, str]] = set()
        self._unwatched: dict[str, str] = {}  # advertiser -> "paused" | "failing"
        self._all_advertisers: list[str] = []
        self._assignment: Assignment | None = None

    # --- the scheduler's listeners ---------------------------------------------------------------------------

    def poll_done(self, outcome: PollOutcome) -> None:
        """One poll finished (the scheduler's ``on_poll_done`` listener): counted by result, with the
        poller's failure streak. A paused advertiser is counted as ``paused``, never as ``ok``."""
        advertiser_id = outcome.advertiser_id
        if outcome.result is PollResult.NOT_MINE:  # another replica polls it: its series are that replica's
            self._forget([advertiser_id])
            self._count_unwatched()
            return
        self._series.polls.labels(result=_POLL_RESULT[outcome.result]).inc()
        self._series.poll_duration.observe(max(outcome.seconds, 0.0))
        self._advertisers.add(advertiser_id)
        self._series.failures.labels(advertiser_id=advertiser_id).set(outcome.consecutive_failures)
        if outcome.ok:
            self._series.last_success.labels(advertiser_id=advertiser_id).set_to_current_time()
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
        self._series.polls.labels(result="skipped").inc()

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
        self._series.owned_shards.set(len(assignment.mine))
        self._series.replicas_alive.set(len(assignment.alive))
        self._count_owned()

    def _count_owned(self) -> None:
        assignment = self._assignment
        if assignment is not None:
            owned = sum(1 for a in self._all_advertisers if assignment.owner_of(a) == assignment.replica)
            self._series.owned_advertisers.set(owned)

    def _forget(self, advertiser_ids: set[str] | list[str]) -> None:
        for advertiser_id in advertiser_ids:
            for gauge in (self._series.last_success, self._series.failures):
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
            self._series.firing.labels(rule=rule, severity=severity).set(count)
        self._firing_labels = set(totals)

    def _count_unwatched(self) -> None:
        for state in ("paused", "failing"):
            self._series.not_watched.labels(state=state).set(sum(1 for s in self._unwatched.values() if s == state))

    # --- the client, pipeline and outbox ------------------------------------------------------------------

    def api_call(self, endpoint: str, result: str = "ok") -> None:
        """One Business API request finished; ``result`` is ``ok`` or the error's class name."""
        self._series.api_calls.labels(endpoint=endpoint, result=result).inc()

    def throttled(self, scope: str) -> None:
        """The API said slow down (``app`` 40100, ``endpoint`` 40016, ``advertiser`` 40133), or the local
        limiter made a request wait (``local``)."""
        self._series.throttles.labels(scope=scope).inc()

    def throttle_episode(self, scope: str) -> None:
        """A throttle episode began (``app``, ``endpoint`` or ``advertiser``): the limiter paused that scope."""
        self._series.throttle_episodes.labels(scope=scope).inc()

    def finding(self, rule: str, severity: str, count: int = 1) -> None:
        """``count`` entities matched ``rule`` in one poll."""
        self._series.findings.labels(rule=rule, severity=severity).inc(count)

    def action(self, action_type: str, outcome: str) -> None:
        """``outcome``: applied | dry_run | blocked (a guard said no) | failed | awaiting_approval (queued for a
        person: a rule with ``approve``)."""
        self._series.actions.labels(type=action_type, outcome=outcome).inc()

    def notification(self, channel: str, result: str, count: int = 1) -> None:
        """``count`` messages to ``channel`` (its configured name: slack, email, webhook) ended so: ``result`` is
        sent | failed (will retry) | dropped (gave up)."""
        self._series.notifications.labels(channel=channel, result=result).inc(count)

    def extra_poll(self, reason: str) -> None:
        """One poll outside the schedule began: ``reason`` adaptive | webhook."""
        self._series.extra_polls.labels(reason=reason).inc()

    def notice(self, result: str) -> None:
        """One REPORT_DATA_CHANGE notice: ``result`` accepted | duplicate | refused."""
        self._series.notices.labels(result=result).inc()

    def set_breaker(self, is_open: bool, writes: int) -> None:
        """The circuit breaker as read from the store (the daemon does after each outbox run)."""
        self._series.breaker_open.set(1 if is_open else 0)
        self._series.breaker_writes.set(writes)

    def set_storage(self, size: StorageSize | None, full: bool) -> None:
        """The database's size and free disk as last measured (None: not yet), and whether it is full now."""
        if size is not None:
            self._series.database_bytes.labels(backend=size.backend).set(size.bytes)
            if size.free_bytes is not None:
                self._series.database_free.labels(backend=size.backend).set(size.free_bytes)
        self._series.database_full.set(1 if full else 0)

    def set_outbox_pending(self, count: int) -> None:
        """The pending outbox rows, every channel together (the daemon counts them after each outbox run)."""
        self._series.outbox_pending.set(count)

    # --- the maintenance job --------------------------------------------------------------------------------

    def maintenance_done(self, report: MaintenanceReport, at: datetime) -> None:
        """A maintenance run (monitor.maintenance) ended well at ``at``; ``report``: what the store's part did."""
        self._series.maintenance_runs.labels(result="ok").inc()
        self._series.maintenance_last_success.set(at.timestamp())
        self._count_maintained(report)

    def maintenance_failed(self, report: MaintenanceReport | None = None) -> None:
        """A maintenance run raised; ``report``: what the store's part did when a later part failed (None: the
        store's part failed)."""
        self._series.maintenance_runs.labels(result="failed").inc()
        if report is not None:
            self._count_maintained(report)

    def _count_maintained(self, report: MaintenanceReport) -> None:
        self._series.history_rows_deleted.labels(by="compaction").inc(report.compacted.history_rows)
        self._series.history_rows_deleted.labels(by="pruning").inc(report.pruned.history_rows)
        self._series.partition_rewrites.labels(result="rewritten").inc(len(report.rewritten))
        self._series.partition_rewrites.labels(result="deferred").inc(report.rewrites_deferred)
