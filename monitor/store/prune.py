"""Retention: forget snapshots older than the retention period, keeping every newer one complete.

For each advertiser the oldest snapshot kept is the first successful poll at or after the cutoff, or the newest
snapshot when there is none (the newest snapshot of an advertiser is never pruned: the next poll diffs against it).
A history row older than that poll is deleted only when a newer row of the same entity (state rows) or of the same
entity and window (window rows), no newer than that poll, supersedes it; so every kept snapshot rebuilds exactly
as before. Entities that had already disappeared by then go
with their history. Delivered or given-up outbox messages older than the cutoff are deleted too, and so are holds
and silences that ended before it, approvals decided (or expired) before it, and the circuit breaker's episodes
closed before it (never the newest: it is the breaker's state, monitor.store.breaker; an open one has not closed).
The action journal is an audit trail and is kept.

History rows go in batches of entity keys sized by a time budget (monitor.store.compact.Budget), one
transaction each; then the advertiser's old poll rows, in one short transaction; then the gone entities, in
batches too (monitor.store.forget_gone); so pollers are never blocked for long.
On PostgreSQL the days wholly before the cutoff go first, as whole partitions (monitor.store.partition_drop: the
rows a kept snapshot still reads are moved out of them), and the batches read only the cutoff's day up to each
advertiser's first kept poll.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain.baseline import keep_days
from monitor.store import partition_drop
from monitor.store.compact import Budget, batched
from monitor.store.db import reading
from monitor.store.forget_gone import forget_gone
from monitor.store.history import keys_t
from monitor.store.holding import holding
from monitor.store.hourly import prune_before
from monitor.store.models import AdvertiserRow, ApprovalRow, BreakerRow, HoldRow, OutboxRow, PollRow, SilenceRow
from monitor.store.partitions import partitioned, utc_day
from monitor.store.snapshots import latest_poll
from monitor.store.values import OutboxStatus, PollStatus, PruneReport

advertisers_t = AdvertiserRow.__table__
polls_t = PollRow.__table__
outbox_t = OutboxRow.__table__
holds_t = HoldRow.__table__
silences_t = SilenceRow.__table__
approvals_t = ApprovalRow.__table__
episodes_t = BreakerRow.__table__


async def prune(
    engine: AsyncEngine, cutoff: datetime, history_cutoff: datetime | None = None, budget: Budget | None = None
) -> PruneReport:
    """Delete what is older than ``cutoff`` (aware) under the rules in the module docstring; snapshots older than
    ``history_cutoff`` (default ``cutoff``). History rows go in batches sized by ``budget``; on PostgreSQL the
    days wholly before ``history_cutoff`` go as partitions first."""
    budget = budget or Budget.for_engine(engine)
    history_cutoff = cutoff if history_cutoff is None else history_cutoff
    async with reading(engine) as conn:
        advertiser_ids = list((await conn.execute(sa.select(advertisers_t.c.id))).scalars())
        keeps = {a: k for a in advertiser_ids if (k := await _keep_from(conn, a, history_cutoff)) is not None}
    days = 0
    if partitioned(engine):
        kept = {a: (k[0], utc_day(k[1])) for a, k in keeps.items()}
        days = len((await partition_drop.drop_before(engine, utc_day(history_cutoff), kept)).days)
    polls = history = entities = 0
    for advertiser_id, keep in keeps.items():
        counts = await _prune_advertiser(engine, advertiser_id, keep, history_cutoff, budget)
        polls, history, entities = polls + counts[0], history + counts[1], entities + counts[2]
    async with holding(engine) as conn:
        result = await conn.execute(
            sa.delete(outbox_t).where(
                outbox_t.c.status.in_([OutboxStatus.SENT.value, OutboxStatus.FAILED.value]),
                outbox_t.c.created_at < cutoff,
            )
        )
        outbox = result.rowcount
        holds = (await conn.execute(sa.delete(holds_t).where(holds_t.c.ends_at < cutoff))).rowcount
        silences = (await conn.execute(sa.delete(silences_t).where(silences_t.c.ends_at < cutoff))).rowcount
        decided = sa.and_(approvals_t.c.decided_at.is_not(None), approvals_t.c.decided_at < cutoff)
        approvals = (await conn.execute(sa.delete(approvals_t).where(decided))).rowcount
        episodes = (await conn.execute(sa.delete(episodes_t).where(_episode_closed_before(cutoff)))).rowcount
    return PruneReport(cutoff, polls, history, entities, outbox, holds, silences, approvals, days, episodes)


def _episode_closed_before(cutoff: datetime) -> sa.ColumnElement[bool]:
    """The breaker's episodes closed before ``cutoff``, but for the newest (the breaker's state, whatever its age)."""
    newest = sa.select(sa.func.max(episodes_t.c.id)).scalar_subquery()
    return sa.and_(episodes_t.c.closed_at.is_not(None), episodes_t.c.closed_at < cutoff, episodes_t.c.id < newest)


async def _keep_from(conn: AsyncConnection, advertiser_id: str, cutoff: datetime) -> tuple[int, datetime] | None:
    """The advertiser's first kept snapshot: its first successful poll at or after ``cutoff``, or its newest
    (None: it has none); id and start."""
    latest = await latest_poll(conn, advertiser_id)
    if latest is None:
        return None
    first_kept = (
        await conn.execute(
            sa.select(polls_t.c.id, polls_t.c.started_at)
            .where(
                polls_t.c.advertiser_id == advertiser_id,
                polls_t.c.status == PollStatus.OK.value,
                polls_t.c.started_at >= cutoff,
            )
            .order_by(polls_t.c.id)
            .limit(1)
        )
    ).first()
    return latest if first_kept is None or first_kept.id > latest[0] else (first_kept.id, first_kept.started_at)


async def _prune_advertiser(
    engine: AsyncEngine, advertiser_id: str, keep: tuple[int, datetime], cutoff: datetime, budget: Budget
) -> tuple[int, int, int]:
    keep_from = keep[0]
    async with reading(engine) as conn:
        sids = (
            await conn.execute(
                sa.select(sa.func.min(keys_t.c.sid), sa.func.max(keys_t.c.sid)).where(
                    keys_t.c.advertiser_id == advertiser_id
                )
            )
        ).one()
    # PostgreSQL: the days before the cutoff's were dropped whole; rows of polls before keep_from are stored
    # under the cutoff's day up to keep_from's
    days = (utc_day(cutoff), utc_day(keep[1])) if partitioned(engine) else None
    history = 0
    if sids[0] is not None and (days is None or days[0] <= days[1]):
        span = (sids[0], sids[1] + 1)
        history = await batched(engine, advertiser_id, keep_from, None, span, budget, "prune", days=days)
    async with holding(engine) as conn:  # the old polls first: no reader reads a snapshot missing what goes next
        began = time.perf_counter()  # the write lock is ours from here
        where = (polls_t.c.advertiser_id == advertiser_id) & (polls_t.c.id < keep_from)
        polls = (await conn.execute(sa.delete(polls_t).where(where))).rowcount
    budget.record(time.perf_counter() - began)
    await budget.turn()
    gone_history, entities = await forget_gone(engine, advertiser_id, keep_from, budget)
    return polls, history + gone_history, entities


async def prune_hourly(engine: AsyncEngine, now: datetime, weeks: int) -> int:
    """Forget the stored hourly days (monitor.store.hourly) no baseline of at most ``weeks`` reads, beyond a
    margin (monitor.domain.baseline.keep_days); the date is taken a day early for every time zone's sake."""
    return await prune_before(engine, (now - timedelta(days=keep_days(weeks) + 1)).date())


async def oldest_droppable(engine: AsyncEngine) -> datetime | None:
    """The time of the oldest successful poll that is not its advertiser's newest (None: there is none)."""
    newest = (
        sa.select(polls_t.c.advertiser_id, sa.func.max(polls_t.c.id).label("id"))
        .where(polls_t.c.status == PollStatus.OK.value)
        .group_by(polls_t.c.advertiser_id)
        .subquery()
    )
    query = sa.select(sa.func.min(polls_t.c.started_at)).where(
        polls_t.c.status == PollStatus.OK.value, polls_t.c.id.not_in(sa.select(newest.c.id))
    )
    async with reading(engine) as conn:
        return (await conn.execute(query)).scalar_one()
