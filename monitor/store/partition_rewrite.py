"""PostgreSQL: a day's history partitions are rewritten once compaction is done with them, so that they take the
disk their kept rows need, not what every poll of the day once wrote.

Compaction (monitor.store.compact) deletes the rows of polls merged into their hour, then their day, row by row.
In one big table PostgreSQL would reuse that space for new rows; a day's partition gets no new rows once the day
is past (polls write into today's), so its file would keep the size of every poll of the day, at 100,000 ads
gigabytes, until the day expires a year later. So once every poll of a day is kept at a tier (the day lies wholly
before the tier's boundary, monitor.store.tiers), the day's partitions are rewritten (``VACUUM FULL``), and a
comment on each (``compacted at tier N``) records it, so it happens once per tier: two or three days after the day
(raw to hourly) and again after ``retention`` (hourly to daily).

``VACUUM FULL`` holds an ``ACCESS EXCLUSIVE`` lock on that one partition while it copies the kept rows: a poll
writes into today's partition and never waits for it (an INSERT locks only the partitions its rows go to); a
reader of the whole history (a backtest, a snapshot of an older poll) waits until the rewrite ends. The lock is
waited for at most :data:`monitor.store.partitions.LOCK_TIMEOUT_MS` (a reader holding it for longer leaves the
rewrite to the next run), so nothing queues behind a waiting rewrite for longer than that.

``VACUUM FULL`` copies a deleted row that something older than the delete may still see (a transaction, a
snapshot, a replication slot: monitor.store.partition_horizon), and the day would keep the size of every poll yet
be recorded as done. So each partition has a *horizon*, the first transaction id not given out when it was first
found due at its tier (compaction's deletes of it committed before, in the same maintenance run). It is kept with
the partition, in the same comment as the tier mark (``horizon 1234 for tier 2; compacted at tier 1``, the mark
absent before the first rewrite; a comment without a horizon, as written before, is read as the mark alone): a
restarted process and every replica on the database read the one horizon written when the day was found due, so
none of them waits for snapshots begun after the day's deletes (a horizon of its own, taken at its start, would
make it wait for every read older than itself). The horizon comes first so that an older version, which reads a
comment starting with the mark only, takes such a day as not yet rewritten (one rewrite more) rather than failing
to read it. ``COMMENT`` locks the partition against other maintenance only (``SHARE UPDATE EXCLUSIVE``), at most
:data:`monitor.store.partitions.LOCK_TIMEOUT_MS` (a horizon not written is used by this run alone, and taken anew
by the next). The rewrites wait, at most :data:`SNAPSHOT_WAIT` seconds in all, until nothing older than a
partition's horizon runs, oldest horizon first (a later run waits for what is older than the day's deletes, not
than itself, so long reads that overlap every hour do not put the rewrite off forever), and rewrite every
partition whose horizon has passed, whatever happened to the others. The wait can be wrong
(``vacuum_defer_cleanup_age``, a delete after the horizon), so what ``VACUUM FULL`` would keep is counted first,
exactly: a plain ``VACUUM`` of the partition sets ``n_dead_tup`` (``pg_stat_all_tables``) to the deleted rows it
must keep (PostgreSQL 15 and later at once; older versions' statistics arrive a moment later). Neither
``n_dead_tup`` after ``ANALYZE`` (it counts such rows neither live nor dead: 0) nor ``reltuples`` after
``VACUUM FULL`` (the index rebuild sets the live rows) would tell. A partition waited for in vain, with rows to
keep, or whose lock was not had, is *deferred*: not rewritten nor recorded as done, so the next run tries again
(with the horizon of then, written over the old one, when rows were to be kept), and logged as a warning naming
what holds the rows back.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import translate_errors
from monitor.store.partition_horizon import holders, next_xid, wait_until_passed
from monitor.store.partitions import LOCK_NOT_AVAILABLE, LOCK_TIMEOUT_MS, TABLES, sqlstate
from monitor.store.tiers import DAILY, HOURLY, Tiers

log = logging.getLogger(__name__)

COMMENT = "compacted at tier "
#: The partition's comment: its horizon and the tier it is due at, then the tier it was last rewritten at.
_COMMENT = re.compile(r"(?:horizon (\d+) for tier (\d+))?(?:; )?(?:compacted at tier (\d+))?")

#: Seconds the rewrites of one run wait, in all, for what is older than their partitions' horizons to end.
SNAPSHOT_WAIT = 10.0


@dataclass(frozen=True)
class Rewritten:
    """A partition rewritten: its name, the tier its day is now kept at, its bytes before and after, seconds."""

    name: str
    tier: int
    before: int
    after: int
    seconds: float


@dataclass(frozen=True)
class Rewrites:
    """What one run did: the partitions rewritten, and the names of those deferred to the next run."""

    rewritten: tuple[Rewritten, ...] = ()
    deferred: tuple[str, ...] = ()


@dataclass
class _Due:
    """A partition due for a rewrite at ``tier``; ``done``: the tier of its last one (0: none); its horizon."""

    name: str
    tier: int
    done: int
    horizon: int


async def rewrite_compacted(
    engine: AsyncEngine, tiers: Tiers, now: datetime, wait: float = SNAPSHOT_WAIT, blocked: asyncio.Event | None = None
) -> Rewrites:
    """Rewrite the partitions of the days compaction is done with, each once nothing older than its horizon
    runs (waited for at most ``wait`` seconds in all), and record those whose deleted rows are gone (see the module
    docstring). A partition due without a horizon for its tier gets one, written into its comment;
    ``blocked`` is set when a wait finds something older running."""
    found = await _due(engine, tiers, now)
    current = await next_xid(engine) if any(horizon is None for *_, horizon in found) else 0
    due: list[_Due] = []
    for name, tier, marked, horizon in found:
        due.append(_Due(name, tier, marked, current if horizon is None else horizon))
        if horizon is None:
            await _remember(engine, due[-1])
    deadline = time.monotonic() + wait
    rewritten, deferred = [], []
    for d in sorted(due, key=lambda d: (d.horizon, d.name)):  # the oldest first: it is the first to pass
        if not await wait_until_passed(engine, d.horizon, deadline, blocked):
            log.warning(
                "history partition %s not rewritten yet (tried again next run): held back by %s",
                d.name,
                await holders(engine, d.horizon),
            )
        elif (done := await _rewrite(engine, d.name, d.tier)) is None:
            pass  # the partition was being read (logged)
        elif done.rewritten is None:
            d.horizon = await next_xid(engine)  # the rows deleted since are waited for too
            await _remember(engine, d)
            log.warning(
                "history partition %s not rewritten yet (tried again next run): it would keep %d deleted rows, "
                "held back by %s",
                d.name,
                done.kept,
                await holders(engine, d.horizon),
            )
        else:
            rewritten.append(done.rewritten)
            continue
        deferred.append(d.name)
    return Rewrites(tuple(sorted(rewritten, key=lambda r: r.name)), tuple(sorted(deferred)))


async def _due(engine: AsyncEngine, tiers: Tiers, now: datetime) -> list[tuple[str, int, int, int | None]]:
    """The partitions whose day is kept at a tier beyond the one their comment records: the name, that tier, the
    recorded one (0: none) and the horizon their comment holds for that tier (None: none, or an earlier tier's)."""
    due: list[tuple[str, int, int, int | None]] = []
    async with translate_errors(), engine.connect() as conn:
        for table in TABLES:
            rows = await conn.execute(
                sa.text(
                    "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)"
                ),
                {"t": table},
            )
            for name, comment in rows:
                day = _day(table, name)
                if day is None:
                    continue
                found = _COMMENT.fullmatch(comment or "")  # None: another comment, none of ours
                horizon, due_at, done = found.groups() if found else (None, None, None)
                tier = _tier_of(day, tiers, now)
                if tier > int(done or 0):
                    kept = int(horizon) if horizon is not None and due_at == str(tier) else None
                    due.append((name, tier, int(done or 0), kept))
        await conn.rollback()
    return due


async def _remember(engine: AsyncEngine, due: _Due) -> None:
    """Write the partition's horizon into its comment, with the tier it was last rewritten at (module docstring)."""
    mark = f"; {COMMENT}{due.done}" if due.done else ""
    comment = f"horizon {due.horizon} for tier {due.tier}{mark}"
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text(f"SET lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
        try:
            await conn.execute(sa.text(f"COMMENT ON TABLE {due.name} IS '{comment}'"))
        except sa.exc.DBAPIError as exc:
            if sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            log.info("history partition %s: its horizon is not written yet (its lock was taken)", due.name)
        finally:
            await conn.execute(sa.text("RESET lock_timeout"))


def _day(table: str, name: str) -> date | None:
    digits = name[len(table) + 2 :]
    if not name.startswith(f"{table}_p") or not digits.isdigit():
        return None
    return datetime.strptime(digits, "%Y%m%d").date()


def _tier_of(day: date, tiers: Tiers, now: datetime) -> int:
    """The tier every poll of ``day`` is kept at by now (0: some are still kept raw)."""
    end = datetime.combine(day + timedelta(days=1), clock_time(), tzinfo=UTC)
    for tier in (DAILY, HOURLY):
        if end <= tiers.boundary(tier, now):
            return tier
    return 0


@dataclass(frozen=True)
class _Outcome:
    rewritten: Rewritten | None
    kept: int  # deleted rows VACUUM FULL would have copied (then it did not run)


async def _rewrite(engine: AsyncEngine, name: str, tier: int) -> _Outcome | None:
    """``VACUUM FULL`` the partition and record the tier, unless a plain ``VACUUM`` found deleted rows it must
    keep (then nothing more: the count of those); None when its lock was not had in time."""
    size = sa.text("SELECT pg_total_relation_size(CAST(:n AS regclass))")
    # a plain VACUUM's count of the deleted rows it had to keep, exact; a fresh read of the statistics
    held = sa.text("SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = CAST(:n AS regclass)")
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        before = (await conn.execute(size, {"n": name})).scalar_one()
        began = time.perf_counter()
        await conn.execute(sa.text(f"SET lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
        try:
            await conn.execute(sa.text(f"VACUUM {name}"))
            await conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            kept = int((await conn.execute(held, {"n": name})).scalar_one() or 0)
            if kept:
                return _Outcome(None, kept)
            await conn.execute(sa.text(f"VACUUM (FULL, ANALYZE) {name}"))
        except sa.exc.DBAPIError as exc:
            if sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            log.info("history partition %s not rewritten yet: it was being read", name)
            return None
        finally:
            await conn.execute(sa.text("RESET lock_timeout"))
        took = time.perf_counter() - began
        await conn.execute(sa.text(f"COMMENT ON TABLE {name} IS '{COMMENT}{tier}'"))
        after = (await conn.execute(size, {"n": name})).scalar_one()
    return _Outcome(Rewritten(name, tier, int(before), int(after), took), 0)
