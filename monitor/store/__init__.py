"""The snapshot store: the daemon's memory (snapshots, poll runs, alert states, holds, silences, approvals,
outbox, action journal).

Open a :class:`Store` from a URL; everything it returns is a frozen value object from :mod:`monitor.domain` or
:mod:`monitor.store.values`. :func:`diff_snapshots` compares two snapshots and is pure. The database side
(:class:`Store`, :class:`PollWriter`) is imported on first use, so the values and the diff load without
sqlalchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports
from monitor.store.diff import FieldChange, MetricDelta, SnapshotDiff, diff_snapshots
from monitor.store.errors import (
    LeaseError,
    LeaseHeldError,
    LeaseLostError,
    MigrationError,
    SchemaVersionError,
    ShardLostError,
    StoreError,
    StoreUnavailableError,
    UnstorableMetricsError,
)
from monitor.store.values import (
    ActionIntent,
    ActionStatus,
    AdvertiserRecord,
    JournalEntry,
    Notification,
    OutboxBacklog,
    OutboxClaim,
    OutboxMessage,
    OutboxStatus,
    PollRun,
    PollStatus,
    PruneReport,
)

if TYPE_CHECKING:
    from monitor.store.poll import PollWriter
    from monitor.store.repo import Store

__getattr__ = lazy_exports(__name__, {"PollWriter": ".poll", "Store": ".repo"})

__all__ = [
    "ActionIntent",
    "ActionStatus",
    "AdvertiserRecord",
    "FieldChange",
    "JournalEntry",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "MetricDelta",
    "MigrationError",
    "Notification",
    "OutboxBacklog",
    "OutboxClaim",
    "OutboxMessage",
    "OutboxStatus",
    "PollRun",
    "PollStatus",
    "PollWriter",
    "PruneReport",
    "SchemaVersionError",
    "ShardLostError",
    "SnapshotDiff",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "UnstorableMetricsError",
    "diff_snapshots",
]
