"""The store's history face (a part of :class:`monitor.store.Store`): older snapshots, the maintenance that
keeps the history in its tiers (monitor.store.maintain), and the database's size."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import Snapshot, aware
from monitor.store import db, snapshots
from monitor.store.models import PollRow
from monitor.store.tiers import Tiers
from monitor.store.values import PollStatus, PruneReport

if TYPE_CHECKING:  # maintenance's modules are imported when it runs: `once` and most commands never run it
    from monitor.store.compact import Budget
    from monitor.store.maintain import MaintenanceReport
    from monitor.store.size import StorageSize


class HistoryAccess:
    """Reads of older snapshots and the maintenance job; :class:`monitor.store.Store` sets the attributes."""

    _engine: AsyncEngine
    retention: timedelta
    tiers: Tiers
    max_bytes: int | None

    async def previous_snapshot(self, advertiser_id: str, before: int | None = None) -> Snapshot | None:
        """The snapshot before poll ``before`` (default: before the newest one), or None if there is none."""
        async with db.reading(self._engine) as conn:
            if before is None:
                latest = await snapshots.latest_poll(conn, advertiser_id)
                if latest is None:
                    return None
                before = latest[0]
            found = await snapshots.latest_poll(conn, advertiser_id, before=before)
            if found is None:
                return None
            return await snapshots.load_at(conn, advertiser_id, *found)

    async def snapshot(self, advertiser_id: str, poll_id: int) -> Snapshot | None:
        """The snapshot of one successful poll, or None if there is no such poll (or it was pruned, or merged into
        the kept poll of its hour or day: :meth:`snapshot_at` finds that one)."""
        async with db.reading(self._engine) as conn:
            found = await snapshots.latest_poll(conn, advertiser_id, before=poll_id + 1)
            if found is None or found[0] != poll_id:
                return None
            return await snapshots.load_at(conn, advertiser_id, *found)

    async def snapshot_at(self, advertiser_id: str, moment: datetime) -> tuple[Snapshot, int] | None:
        """The newest kept snapshot taken at or before ``moment``, whatever its tier, with the tier
        (monitor.store.tiers: RAW, HOURLY, DAILY); None before the first one."""
        polls = PollRow.__table__
        query = (
            sa.select(polls.c.id, polls.c.started_at, polls.c.tier)
            .where(
                polls.c.advertiser_id == advertiser_id,
                polls.c.status == PollStatus.OK.value,
                polls.c.started_at <= aware(moment),
            )
            .order_by(polls.c.started_at.desc(), polls.c.id.desc())
            .limit(1)
        )
        async with db.reading(self._engine) as conn:
            found = (await conn.execute(query)).first()
            if found is None:
                return None
            return await snapshots.load_at(conn, advertiser_id, found.id, found.started_at), found.tier

    async def prune(self, now: datetime, retention: timedelta | None = None) -> PruneReport:
        """Forget what is older than ``now - retention`` (see monitor.store.prune): without ``retention``, history
        older than the daily tier (``tiers.daily``) and the rest older than ``self.retention``."""
        from monitor.store import prune as pruning

        if retention is not None:
            return await pruning.prune(self._engine, aware(now) - retention)
        return await pruning.prune(self._engine, aware(now) - self.retention, now - self.tiers.daily)

    async def prune_hourly(self, now: datetime, baseline_weeks: int) -> int:
        """Forget the stored hourly days (monitor.store.hourly) that no baseline of at most ``baseline_weeks``
        reads (the longest ``weeks`` any rule reads, 0 for none); returns the days forgotten."""
        from monitor.store import prune as pruning

        return await pruning.prune_hourly(self._engine, aware(now), baseline_weeks)

    async def maintain(self, now: datetime, budget: Budget | None = None) -> MaintenanceReport:
        """The maintenance job: compaction into the tiers, pruning, incremental vacuum, in small batches (see
        monitor.store.maintain)."""
        from monitor.store import maintain as maintenance

        return await maintenance.maintain(
            self._engine,
            self.tiers,
            self.retention,
            aware(now),
            budget,
            max_bytes=self.max_bytes,
        )

    async def size(self) -> StorageSize:
        """The database's bytes on disk and its disk's free space (see monitor.store.size)."""
        from monitor.store.size import measure  # maintenance's and the metrics', not a poll's

        return await measure(self._engine)
