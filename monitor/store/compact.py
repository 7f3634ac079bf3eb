"""Compaction: older history down to one snapshot per hour, then per day (monitor.store.tiers), in small batches.

For each advertiser and tier, the oldest span (UTC hour or day) that lies wholly before the tier's boundary is
*marked* in one short transaction: its newest successful poll is kept (``polls.tier`` set), the others become
``merged``, which no reader reads (readers take successful polls only), so every snapshot a reader can ask for
stays whole while the rest runs. Then the merged polls' history rows that a newer row up to the kept poll
supersedes are deleted (monitor.store.history_forget), a range of entity keys per transaction, sized by a
:class:`Budget` so that no transaction holds the write lock longer than about ``Budget.target``; last the merged
poll rows go. An interrupted run leaves ``merged`` polls behind, and the next one finishes them first. On
PostgreSQL those batched deletes read only the partitions of the span's days (monitor.store.partitions: a span is
one UTC hour or day, so one partition).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import reading
from monitor.store.history import keys_t
from monitor.store.history_forget import forget_superseded
from monitor.store.holding import holding
from monitor.store.models import PollRow
from monitor.store.partitions import partitioned, utc_day
from monitor.store.tiers import DAILY, HOURLY, SPAN, Tiers, span_start
from monitor.store.values import PollStatus

polls_t = PollRow.__table__
OK, MERGED = PollStatus.OK.value, PollStatus.MERGED.value


MIN_REST = 0.002
MOST_KEYS = 1 << 16  # keys of a batch at most, whatever quick batches before suggested
MOST_STEP = 2048  # keys of one statement at most


@dataclass
class Budget:
    """Batch sizes (entity keys), one per kind of work ("compact", "prune"), grown or shrunk so a batch takes
        about ``target`` seconds; ``size`` is each kind's first. Every transaction of maintenance is recorded: the
        longest is ``longest``. Between two transactions maintenance rests (:meth:`turn`), so that a poll waiting for
    the write lock waits for about one of them."""

    target: float = 0.04
    size: int = 128
    rest: float = 1.0
    longest: float = 0.0
    batches: int = 0
    last: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> Budget:
        """The default budget for a database: rests between transactions on SQLite only (PostgreSQL locks rows, a
        poll never waits for maintenance's transaction as a whole)."""
        return cls(rest=1.0 if engine.dialect.name == "sqlite" else 0.0)

    def size_of(self, kind: str) -> int:
        return self.sizes.get(kind, self.size)

    def record(self, took: float, kind: str | None = None, done: int | None = None) -> None:
        """A transaction took ``took`` seconds; a batch of ``kind`` that went through ``done`` keys (default: its
        whole size) resizes that kind's next one: shrunk in proportion past ``target``, grown toward 70 % of it (at
        most doubled) below half of it, so one quick batch cannot make the next overshoot by much; the size is
        worked out from the keys done, so a batch cut short or the short last one of a range does not grow it."""
        self.batches += 1
        self.last = took
        self.longest = max(self.longest, took)
        if kind is None:
            return
        self.sizes[kind] = resized(self.size_of(kind) if done is None else max(1, done), took, self.target)

    async def turn(self) -> None:
        """Leave the write lock free for ``rest`` times as long as the last transaction held it (at least
        :data:`MIN_REST`): SQLite queues no one, and a writer waiting in its busy handler retries only every few
        to 100 ms, so back-to-back batches could keep a poll waiting for many of them."""
        await asyncio.sleep(self.rest_after())

    def rest_after(self) -> float:
        """Seconds :meth:`turn` rests after the last transaction."""
        return max(MIN_REST, self.last * self.rest)


def resized(size: int, took: float, target: float) -> int:
    """The next batch size after a batch of ``size`` keys took ``took`` seconds (see :meth:`Budget.record`); at
    least 16, at most :data:`MOST_KEYS`."""
    if took > target:
        size = int(size * target / took / 1.5)
    elif took < target / 2:
        size = int(size * min(2.0, 0.7 * target / max(took, 1e-9)))
    return max(16, min(MOST_KEYS, size))


@dataclass
class CompactReport:
    """What compaction did: polls merged into their span's kept poll, history rows deleted."""

    merged: int = 0
    history_rows: int = 0


async def compact(engine: AsyncEngine, tiers: Tiers, now: datetime, budget: Budget) -> CompactReport:
    """Compact every advertiser's history as of ``now``."""
    async with reading(engine) as conn:
        advertisers = list((await conn.execute(sa.select(polls_t.c.advertiser_id).distinct())).scalars())
    report = CompactReport()
    for advertiser_id in advertisers:
        await _finish_merged(engine, advertiser_id, budget, report)
        for tier in (HOURLY, DAILY):
            while await _mark_span(engine, advertiser_id, tier, tiers.boundary(tier, now), report, budget):
                await _finish_merged(engine, advertiser_id, budget, report)
    return report


async def _mark_span(
    engine: AsyncEngine, advertiser_id: str, tier: int, boundary: datetime, report: CompactReport, budget: Budget
) -> bool:
    """Mark the oldest span of ``tier`` before ``boundary`` that still has finer polls; False: none left."""
    ok = (polls_t.c.advertiser_id == advertiser_id) & (polls_t.c.status == OK)
    async with holding(engine) as conn:
        began = time.perf_counter()  # the write lock is ours from here
        oldest = (
            await conn.execute(
                sa.select(polls_t.c.started_at)
                .where(ok, polls_t.c.tier < tier, polls_t.c.started_at < boundary)
                .order_by(polls_t.c.id)
                .limit(1)
            )
        ).first()
        if oldest is None:
            return False
        start = span_start(oldest.started_at, tier)
        end = start + SPAN[tier]
        if end > boundary:
            return False
        in_span = ok & (polls_t.c.started_at >= start) & (polls_t.c.started_at < end)
        keep = (await conn.execute(sa.select(sa.func.max(polls_t.c.id)).where(in_span))).scalar_one()
        merged = await conn.execute(sa.update(polls_t).where(in_span, polls_t.c.id < keep).values(status=MERGED))
        await conn.execute(sa.update(polls_t).where(polls_t.c.id == keep).values(tier=tier))
    budget.record(time.perf_counter() - began)
    await budget.turn()
    report.merged += merged.rowcount
    return True


async def _finish_merged(engine: AsyncEngine, advertiser_id: str, budget: Budget, report: CompactReport) -> None:
    """Delete the history rows only merged polls needed, batch by batch, then the merged polls."""
    mine = polls_t.c.advertiser_id == advertiser_id
    while True:
        async with reading(engine) as conn:
            first = (
                await conn.execute(sa.select(sa.func.min(polls_t.c.id)).where(mine, polls_t.c.status == MERGED))
            ).scalar_one()
            if first is None:
                return
            keep = (
                await conn.execute(
                    sa.select(sa.func.min(polls_t.c.id)).where(mine, polls_t.c.status == OK, polls_t.c.id > first)
                )
            ).scalar_one()
            low, high = (
                await conn.execute(
                    sa.select(sa.func.min(keys_t.c.sid), sa.func.max(keys_t.c.sid)).where(
                        keys_t.c.advertiser_id == advertiser_id
                    )
                )
            ).one()
            days = await _days(conn, first, keep) if partitioned(engine) and keep is not None else None
        if keep is not None and low is not None:
            span = (low, high + 1)
            report.history_rows += await batched(
                engine, advertiser_id, keep, first - 1, span, budget, "compact", days=days
            )
        async with holding(engine) as conn:
            began = time.perf_counter()  # the write lock is ours from here
            upto = polls_t.c.id < keep if keep is not None else sa.true()
            await conn.execute(sa.delete(polls_t).where(mine, polls_t.c.status == MERGED, polls_t.c.id >= first, upto))
        budget.record(time.perf_counter() - began)
        await budget.turn()


async def _days(conn: AsyncConnection, first: int, keep: int) -> tuple[date, date]:
    """The days the polls from ``first`` to ``keep`` started on (PostgreSQL: their rows' partitions)."""
    found = sa.select(sa.func.min(polls_t.c.started_at), sa.func.max(polls_t.c.started_at)).where(
        polls_t.c.id >= first, polls_t.c.id <= keep
    )
    low, high = (await conn.execute(found)).one()
    return utc_day(low), utc_day(high)


async def batched(
    engine: AsyncEngine,
    advertiser_id: str,
    keep: int,
    after: int | None,
    sids: tuple[int, int],
    budget: Budget,
    kind: str,
    days: tuple[date, date] | None = None,
) -> int:
    """:func:`forget_superseded` over the key range ``sids``, one budget-sized batch per transaction (cut short
    once half the target is spent), giving other writers (a poll) a turn between batches; ``days``:
    the partitions to read (PostgreSQL)."""
    deleted, start = 0, sids[0]
    while start < sids[1]:
        end = min(sids[1], start + budget.size_of(kind))
        step = max(16, min(MOST_STEP, (end - start) // 8))
        first = start
        async with holding(engine) as conn:
            began = time.perf_counter()  # the write lock is ours from here
            # an eighth of the batch at a time, committing early once half the target is spent: keys are not all
            # equally dear (at 10,000 ads some ranges cost ten times others), and this bounds the overshoot to
            # about one step
            while True:  # at least one step, so the work always goes on
                stop = min(end, start + step)
                deleted += await forget_superseded(
                    conn, advertiser_id, keep, after=after, sids=(start, stop), days=days
                )
                start = stop
                if start >= end or time.perf_counter() - began >= budget.target / 2:
                    break
        # the commit included: the lock is held until it ends
        budget.record(time.perf_counter() - began, kind, done=start - first)
        await budget.turn()
    return deleted
