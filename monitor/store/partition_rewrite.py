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

``VACUUM FULL`` copies a deleted row that a transaction older than the delete may still see (PostgreSQL keeps it
for that transaction): a write transaction anywhere on the server, or a snapshot read in this database, older than
compaction's deletes would leave the day at the size of every poll, and the comment would say it was done. So the
rewrites first wait, at most :data:`SNAPSHOT_WAIT` seconds, for every such transaction to end (a plain
``VACUUM``, which holds back nothing, is not waited for); one still running after that leaves the rewrites to the
next run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import translate_errors
from monitor.store.partitions import LOCK_NOT_AVAILABLE, LOCK_TIMEOUT_MS, TABLES, sqlstate
from monitor.store.tiers import DAILY, HOURLY, Tiers

log = logging.getLogger(__name__)

COMMENT = "compacted at tier "

#: Seconds the rewrites wait for the transactions older than compaction's deletes to end (module docstring).
SNAPSHOT_WAIT = 10.0
_RECHECK = 0.05

# Whether a transaction that began before transaction id :xid, or a snapshot read in this database taken before
# it, still runs: the first running transaction id anywhere (the new snapshot's xmin) is not yet past it, or a
# session of this database holds an older snapshot (a larger age() is older; lazy VACUUMs hold back nothing).
_OLDER_RUNNING = sa.text(
    "SELECT pg_snapshot_xmin(pg_current_snapshot()) < CAST(CAST(:xid AS text) AS xid8) OR EXISTS ("
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum) "
    "AND age(backend_xmin) > age(CAST(CAST(:xid32 AS text) AS xid)))"
)


@dataclass(frozen=True)
class Rewritten:
    """A partition rewritten: its name, the tier its day is now kept at, its bytes before and after, seconds."""

    name: str
    tier: int
    before: int
    after: int
    seconds: float


async def rewrite_compacted(
    engine: AsyncEngine, tiers: Tiers, now: datetime, wait: float = SNAPSHOT_WAIT
) -> list[Rewritten]:
    """Rewrite the partitions of the days compaction is done with, once the transactions older than now have
    ended (waited for at most ``wait`` seconds: see the module docstring); what was done."""
    due: list[tuple[str, int]] = []
    async with translate_errors(), engine.connect() as conn:
        # every delete compaction committed has a transaction id before this one, the first not yet given out
        xid = int(
            (await conn.execute(sa.text("SELECT CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text)"))).scalar_one()
        )
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
                done = int(comment[len(COMMENT) :]) if comment and comment.startswith(COMMENT) else 0
                tier = _tier_of(day, tiers, now)
                if tier > done:
                    due.append((name, tier))
        await conn.rollback()
    if due and not await _older_transactions_ended(engine, xid, wait):
        log.info(
            "history partitions %s not rewritten yet: an older transaction still runs",
            ", ".join(sorted(n for n, _ in due)),
        )
        return []
    out = []
    for name, tier in sorted(due):
        rewritten = await _rewrite(engine, name, tier)
        if rewritten is not None:
            out.append(rewritten)
    return out


async def _older_transactions_ended(engine: AsyncEngine, xid: int, wait: float) -> bool:
    """Whether every transaction that began before transaction id ``xid`` (and every snapshot of this database
    taken before it) ended within ``wait`` seconds: only then can ``VACUUM FULL`` leave out the rows deleted before
    ``xid``."""
    deadline = time.monotonic() + wait
    params = {"xid": str(xid), "xid32": str(xid % (1 << 32))}  # pg_stat_activity has 32-bit transaction ids
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # a fresh snapshot each time
        while (await conn.execute(_OLDER_RUNNING, params)).scalar_one():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_RECHECK)
    return True


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


async def _rewrite(engine: AsyncEngine, name: str, tier: int) -> Rewritten | None:
    size = sa.text("SELECT pg_total_relation_size(CAST(:n AS regclass))")
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        before = (await conn.execute(size, {"n": name})).scalar_one()
        began = time.perf_counter()
        await conn.execute(sa.text(f"SET lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
        try:
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
    return Rewritten(name, tier, int(before), int(after), took)
