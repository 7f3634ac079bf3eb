"""The daemon's maintenance job (the scheduler's hourly ``maintenance`` job): the store's maintenance (compaction,
pruning, and freed pages given back or, on PostgreSQL, finished days rewritten: monitor.store.maintain), then the
stored hourly days no baseline reads any more, then a full collection (monitor.gctune).

Each run is counted in the metrics (monitor.metrics): by result, the time of the last successful one, and what
the store's maintenance did (history rows deleted, partitions rewritten or deferred). A run that raises is counted
``failed`` (with what the store's maintenance did, when it was the hourly days' pruning after it that failed) and
raised again: the scheduler logs it (monitor.scheduler: every failure, a traceback once per streak of a bug).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from monitor.clock import Clock
from monitor.gctune import collect_all
from monitor.metrics import Metrics

if TYPE_CHECKING:  # the store's maintenance modules are imported when it first runs
    from monitor.store.maintain import MaintenanceReport


class Maintained(Protocol):
    """What the job maintains: :class:`monitor.store.Store`."""

    async def maintain(self, now: datetime) -> MaintenanceReport: ...

    async def prune_hourly(self, now: datetime, baseline_weeks: int) -> int: ...


async def maintenance(
    store: Maintained, clock: Clock, metrics: Metrics, baseline_weeks: Callable[[], int]
) -> MaintenanceReport:
    """One run of the job; ``baseline_weeks``: the longest ``weeks`` any rule reads now. Returns what the store's
    maintenance did."""
    report = None
    try:
        report = await store.maintain(clock.now())
        await store.prune_hourly(clock.now(), baseline_weeks())
    except Exception:
        metrics.maintenance_failed(report)
        raise
    metrics.maintenance_done(report, clock.now())
    collect_all()  # see monitor.gctune: what the tuned collector would leave for hours
    return report
