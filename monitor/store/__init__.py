"""The snapshot store: the daemon's memory (snapshots, poll runs, alert states, outbox, action journal).

Open a :class:`Store` from a URL; everything it returns is a frozen value object from
:mod:`monitor.store.values`. :func:`diff_snapshots` compares two snapshots and is pure.
"""

from __future__ import annotations

from monitor.store.diff import FieldChange, MetricDelta, SnapshotDiff, diff_snapshots
from monitor.store.errors import (
    LeaseError,
    LeaseHeldError,
    LeaseLostError,
    MigrationError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
)
from monitor.store.poll import PollWriter
from monitor.store.repo import Store
from monitor.store.values import (
    ActionIntent,
    ActionStatus,
    AdvertiserRecord,
    AlertState,
    EntityKey,
    EntityState,
    JournalEntry,
    Metrics,
    Notification,
    OutboxMessage,
    OutboxStatus,
    PollRun,
    PollStatus,
    PruneReport,
    Snapshot,
)

__all__ = [
    "ActionIntent",
    "ActionStatus",
    "AdvertiserRecord",
    "AlertState",
    "EntityKey",
    "EntityState",
    "FieldChange",
    "JournalEntry",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "MetricDelta",
    "Metrics",
    "MigrationError",
    "Notification",
    "OutboxMessage",
    "OutboxStatus",
    "PollRun",
    "PollStatus",
    "PollWriter",
    "PruneReport",
    "SchemaVersionError",
    "Snapshot",
    "SnapshotDiff",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "diff_snapshots",
]
