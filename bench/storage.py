"""What the database weighs after 30 days and after a year of polls, with the history's tiers (monitor.store.tiers).

    .venv/bin/python bench/storage.py [--ads 1000] [--days 30] [--interval 60] [--change 0.21] [--scale-to 10000]
        [--url postgresql://user:pw@host/db] [--raw-hours 50] [--hourly-days N] [--daily-days N] [--settle]

Writes one advertiser's ads through the store's API (``store.poll``/``poll.save``, then ``store.maintain`` as the
daemon's hourly job runs it) on a SQLite file, with an injected clock: no waiting. Every poll, each ad's ``today``
moves on with probability ``--change`` (0.21: the share of the sandbox's 10,102 entities that changed per poll in
issue 22's soak); at local midnight ``today`` starts over and ``yesterday`` and ``last_7d`` move on for every ad
(10 metrics per window, as the sandbox reports them); one ad in a thousand changes its status per hour.

What compaction leaves of a span is exactly what a poll at its end would have written (monitor.store.compact keeps
the span's newest poll and the rows it needs), so older history is written at its tier's resolution directly:
one poll per day before ``retention`` (90 days), one per hour up to the raw window, then every ``--interval``
seconds for the raw window (48 h) plus two hours, with ``store.maintain`` every simulated hour, so the move from
raw to hourly runs for real, batch by batch, beside that hour's first poll; the longest batch by maintenance's own
timer is printed, and the median and longest poll alone and beside maintenance. On SQLite, while maintenance runs
alone (the last run of the raw window, ``--settle``, ``--expire``), a second process takes the write lock every
few milliseconds (bench/lockprobe.py) and the longest time it waited is printed: the write lock a poll may wait
for, seen from outside.

Prints the file's size (WAL checkpointed; new databases give freed pages back: incremental vacuum) after each
tier and at the end, and the bytes of each table (``dbstat``). ``--scale-to`` extrapolates to more ads: the tables
whose rows are per entity (``entities``, ``entity_keys``, ``history_states``, ``history_metrics``) grow with the
number of ads, the rest (polls, names) does not. That is an extrapolation, said so in the output.

The first poll (every ad new) is written apart, a minute before the first part, so that each part's growth is
what its tier costs.

``--url`` runs it on PostgreSQL instead (a schema of its own, dropped at the end; bench/storage_pg.py): sizes are
``pg_total_relation_size`` per table, the day partitions of the history summed. ``--raw-hours``, ``--hourly-days``
and ``--daily-days`` shorten a tier's part of the run (default: what ``--days`` gives each), for sizes that would
take too long to write whole: each part prints its bytes per day, from which the rest is extrapolated.
``--settle`` ends with the maintenance run of two days later: the raw polls compacted into their hours and, on
PostgreSQL, their day's partitions rewritten (monitor.store.partition_rewrite), with the time it took. ``--expire``
then prunes the days before the hourly tier as if they had passed ``daily``: dropped whole on PostgreSQL
(monitor.store.partition_drop), deleted row by row on SQLite, with the time it took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import storage_pg  # bench/, the script's directory, is on the path
from lockprobe import LockProbe, Waits
from storage_ads import ADV, Ads

from monitor.clock import FrozenClock
from monitor.store import Store
from monitor.store import prune as pruning
from monitor.store.compact import Budget
from monitor.store.tiers import Tiers

END = datetime(2026, 12, 1, tzinfo=UTC)
PER_ENTITY = ("entities", "entity_keys", "history_states", "history_metrics", "sqlite_autoindex_entity_keys_1")
HISTORY = ("history_states", "history_metrics")
TIERS = Tiers()  # raw 48 h, hourly 90 days, daily a year: the defaults


def file_bytes(path: Path) -> tuple[int, dict[str, int]]:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    return path.stat().st_size, tables


def history_rows(path: Path) -> str:
    """Rows of the window history, their bytes on disk each, and how full its pages are."""
    with sqlite3.connect(path) as conn:
        cells, payload, unused, size = conn.execute(
            "SELECT sum(ncell), sum(payload), sum(unused), sum(pgsize) FROM dbstat "
            "WHERE name = 'history_metrics' AND pagetype = 'leaf'"
        ).fetchone()
    return (
        f"history_metrics: {cells:,} rows, {size / cells:,.0f} bytes per row on disk "
        f"({payload / cells:,.0f} of data, pages {100 - 100 * unused / size:.0f}% full)"
    )


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


class Where:
    """The database the bench writes: a SQLite file, or a PostgreSQL schema of its own."""

    def __init__(self, path: Path, url: str | None) -> None:
        self.path, self.url = path, url
        self.schema = storage_pg.schema_name() if url else None

    @property
    def store_url(self) -> str:
        return self.url or f"sqlite:///{self.path}"

    async def sizes(self, store: Store) -> tuple[int, dict[str, int]]:
        if self.url is None:
            return file_bytes(self.path)
        return await storage_pg.table_bytes(store.engine)

    async def rows(self, store: Store) -> str:
        return history_rows(self.path) if self.url is None else await storage_pg.history_rows(store.engine)


@contextlib.asynccontextmanager
async def probing(where: Where, waits: list[float]) -> AsyncIterator[None]:
    """On SQLite, a second process takes the write lock every few ms while the block runs (bench/lockprobe.py);
    its waits are added to ``waits``."""
    if where.url is not None:
        yield
        return
    probe = LockProbe(where.path)
    probe.start()
    try:
        yield
    finally:
        waits.extend(probe.stop().waits)


async def run(
    where: Where, ads: int, phases: tuple[int, float, float], interval: int, change: float, scale: int, ends: str
) -> None:
    """``phases``: days of the daily tier, hours of the hourly tier, hours of the raw window written; ``ends``:
    "settle" and/or "expire" (see the module docstring)."""
    daily_days, hourly_hours, raw_hours = phases
    begin = END - timedelta(days=daily_days, hours=hourly_hours + raw_hours)
    clock = FrozenClock(begin)
    store = await Store.open(
        where.store_url, schema=where.schema, clock=clock, retention=TIERS.hourly, tiers=TIERS, owner="bench"
    )
    model = Ads(ads, change)
    polls, budget, started = 0, Budget(), time.perf_counter()
    per_hour = 1 - (1 - change) ** (3600 // interval)  # an ad that changed at any poll of the hour

    alone: list[float] = []
    beside: list[float] = []

    async def poll(at: datetime, share: float, took: list[float] | None = None) -> None:
        nonlocal polls
        if at.date() != clock.now().date():
            model.new_day()
        clock.set(at)
        model.step(share)
        began = time.perf_counter()
        async with store.poll(ADV, at) as writer:
            writer.save(model.ads)
        if took is not None:
            took.append(time.perf_counter() - began)
        polls += 1

    at = begin
    raw_from = END - timedelta(hours=raw_hours)
    last = (0, 0)
    waits: list[float] = []
    try:
        await poll(at - timedelta(minutes=1), 1.0)  # every ad new: the first poll, apart from the tiers
        last = await report("first poll", where, store, polls, started, ads, scale, last, 0)
        hourly_from = at + timedelta(days=daily_days)
        while at < hourly_from:  # daily: one poll at the end of each day
            await poll(at + timedelta(hours=23, minutes=59), 1.0)
            model.statuses(0.024)
            at += timedelta(days=1)
        last = await report("daily tier written", where, store, polls, started, ads, scale, last, daily_days)
        while at < raw_from:  # hourly: one poll at the end of each hour
            await poll(at + timedelta(minutes=59), per_hour)
            model.statuses(0.001)
            at += timedelta(hours=1)
        last = await report("hourly tier written", where, store, polls, started, ads, scale, last, hourly_hours / 24)
        step = timedelta(seconds=interval)
        while at < END:  # raw: every poll; the daemon's maintenance every hour, beside that hour's first poll
            if at.minute == 0 and at.second == 0:
                model.statuses(0.001)
                await asyncio.gather(store.maintain(at, budget), poll(at, change, beside))
            else:
                await poll(at, change, alone)
            at += step
        async with probing(where, waits):
            await store.maintain(END, budget)
        last = await report("raw window written", where, store, polls, started, ads, scale, last, raw_hours / 24)
        if "settle" in ends:  # two days later: the raw polls are kept hourly now
            began = time.perf_counter()
            async with probing(where, waits):
                done = await store.maintain(END + TIERS.raw + timedelta(days=1), budget)
            print(f"  settled (maintenance two days later) in {time.perf_counter() - began:,.0f} s: ", end="")
            print(f"{done.compacted.merged:,} polls merged, {done.compacted.history_rows:,} history rows deleted")
            for part in done.rewritten:
                print(
                    f"    rewrote {part.name} (tier {part.tier}): {mb(part.before)} -> {mb(part.after)} "
                    f"in {part.seconds:,.1f} s"
                )
        if "expire" in ends:  # the days before the hourly tier expire: dropped whole on PostgreSQL, deleted on SQLite
            began = time.perf_counter()
            async with probing(where, waits):
                pruned = await pruning.prune(store.engine, hourly_from, budget=budget)
            print(
                f"  expired the history before {hourly_from:%Y-%m-%d %H:%M} in {time.perf_counter() - began:,.1f} s: "
                f"{pruned.days_dropped} days dropped whole, {pruned.history_rows:,} history rows deleted, "
                f"{pruned.polls} polls"
            )
        await report("end", where, store, polls, started, ads, scale, last, 0)
    finally:
        await store.close()
    print(f"  maintenance: {budget.batches:,} batches, the longest took {budget.longest * 1000:.0f} ms (its own timer)")
    if waits:
        print(f"  maintenance alone (last run, settle, expire): {Waits(tuple(waits)).line()}")
    if alone and beside:
        print(
            f"  raw-window polls: median {median(alone) * 1000:.0f} ms alone (max {max(alone) * 1000:.0f}), "
            f"{median(beside) * 1000:.0f} ms beside maintenance (max {max(beside) * 1000:.0f}; {len(beside)} polls)"
        )


async def report(
    stage: str,
    where: Where,
    store: Store,
    polls: int,
    started: float,
    ads: int,
    scale: int,
    last: tuple[int, int],
    days: float,
) -> tuple[int, int]:
    """Print the sizes now, and what this part added per day (``days`` long); returns (size, history bytes)."""
    size, tables = await where.sizes(store)
    entity = sum(tables.get(name, 0) for name in PER_ENTITY)
    history = sum(tables.get(name, 0) for name in HISTORY)
    rest = sum(tables.values()) - entity
    what = "file" if where.url is None else "tables"
    print(f"{stage}: {polls:,} polls in {time.perf_counter() - started:,.0f} s; {what} {mb(size)}", end="")
    print(f" (history and entities {mb(entity)}, the rest {mb(rest)})")
    if days:
        print(
            f"  this part: +{mb(size - last[0])} over {days:g} days, {mb((size - last[0]) / days)} per day; "
            f"the history tables +{mb(history - last[1])}, {mb((history - last[1]) / days)} per day"
        )
    if scale != ads:
        print(
            f"  extrapolated to {scale:,} ads: {mb(entity * scale / ads + rest)} (per-entity tables x{scale / ads:g})"
        )
    if stage == "end":
        print(f"  {await where.rows(store)}")
        for name, n in sorted(tables.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {name:<40} {mb(n)}")
    return size, history


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval", type=int, default=60, help="seconds between polls in the raw window")
    parser.add_argument("--change", type=float, default=0.21, help="share of the ads whose today moves per poll")
    parser.add_argument("--scale-to", type=int, default=10_000, help="extrapolate the sizes to this many ads")
    parser.add_argument("--url", help="PostgreSQL URL (a schema of the bench's own is made and dropped)")
    parser.add_argument("--raw-hours", type=float, help="hours of raw polls (default: the raw window + 2 h)")
    parser.add_argument("--hourly-days", type=float, help="days of hourly polls (default: what --days leaves)")
    parser.add_argument("--daily-days", type=int, help="days of daily polls (default: what --days leaves)")
    parser.add_argument("--settle", action="store_true", help="end with the maintenance of two days later")
    parser.add_argument("--expire", action="store_true", help="last, expire the days before the hourly tier")
    args = parser.parse_args()
    raw = args.raw_hours if args.raw_hours is not None else TIERS.raw / timedelta(hours=1) + 2
    daily = args.daily_days if args.daily_days is not None else max(0, args.days - TIERS.hourly.days)
    hourly = args.hourly_days * 24 if args.hourly_days is not None else max(0.0, (args.days - daily) * 24 - raw)
    print(
        f"{args.ads:,} ads: {daily} days daily, {hourly / 24:g} days hourly, {raw:g} hours every {args.interval} s; "
        f"{args.change:.0%} change; {'PostgreSQL' if args.url else 'SQLite'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        where = Where(Path(tmp) / "bench.db", args.url)
        if where.url and where.schema:
            await storage_pg.create_schema(where.url, where.schema)
        try:
            ends = ("settle " if args.settle else "") + ("expire" if args.expire else "")
            await run(where, args.ads, (daily, hourly, raw), args.interval, args.change, args.scale_to, ends)
        finally:
            if where.url and where.schema:
                await storage_pg.drop_schema(where.url, where.schema)


if __name__ == "__main__":
    asyncio.run(main())
