"""Benchmark of the snapshot store: N polls of an advertiser with many ads, a few percent changing per poll.

    .venv/bin/python bench/bench_store.py [--entities 100000] [--polls 6] [--changed 0.05]

(``--changed 0.8``: about what a poll of ads that all spend writes.) Runs against a SQLite file in a temporary
directory and, when TEST_POSTGRES_URL is set, against PostgreSQL (in a schema of its own, dropped afterwards).
For each backend it prints, per kind of poll: rows written, seconds to load the previous snapshot, to compare
(``poll.compare()``, as the pipeline calls it) and to commit, the commit's CPU seconds (every thread), rows
written per second of commit and entities compared per second,
bytes the database grew per entity per poll (SQLite: file size with the WAL checkpointed; PostgreSQL:
pg_total_relation_size of the store's tables), and the longest the event loop was blocked during the poll.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.domain import EntityState, Level
from monitor.store import Store
from monitor.store.db import normalize_url

ADV = "7000000000000000001"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
STATUSES = ("AD_STATUS_DELIVERY_OK", "AD_STATUS_BUDGET_EXCEED", "AD_STATUS_AUDIT_DENY", "AD_STATUS_DISABLE")


@dataclass
class Sample:
    kind: str
    rows: int
    load_s: float
    compare_s: float
    commit_s: float
    commit_cpu_s: float
    grew: int
    stall_ms: float


class Heartbeat:
    """Measures the longest time the event loop was blocked (other tasks could not run) during a poll."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.every)
            self.worst = max(self.worst, time.perf_counter() - start - self.every)

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def ad(i: int, rng: random.Random, spend: float) -> EntityState:
    impressions = rng.randint(0, 50_000)
    clicks = impressions // rng.randint(50, 200)
    conversions = clicks // 20
    today = {
        "spend": round(spend, 2),
        "impressions": impressions,
        "clicks": clicks,
        "ctr": round(100 * clicks / impressions, 2) if impressions else None,
        "cpc": round(spend / clicks, 2) if clicks else None,
        "cpm": round(1000 * spend / impressions, 2) if impressions else None,
        "conversion": conversions,
        "cost_per_conversion": round(spend / conversions, 2) if conversions else None,
        "result": conversions,
        "cost_per_result": round(spend / conversions, 2) if conversions else None,
    }
    return EntityState(
        level=Level.AD,
        id=str(1_790_000_000_000_000_000 + i),
        advertiser_id=ADV,
        name=f"Summer sale / video {i % 97} / {i}",
        operation_status="ENABLE",
        secondary_status=STATUSES[0],
        campaign_id=str(1_780_000_000_000_000_000 + i // 1000),
        adgroup_id=str(1_785_000_000_000_000_000 + i // 100),
        metrics={"today": today},
    )


def changed(state: EntityState, rng: random.Random) -> EntityState:
    """Most changes are spend moving on; one in five is a status change."""
    if rng.random() < 0.2:
        status = rng.choice([s for s in STATUSES if s != state.secondary_status])
        return dataclasses.replace(state, secondary_status=status)
    spend = float(state.metric("spend") or 0) + rng.uniform(0.5, 20)
    return ad(int(state.id) - 1_790_000_000_000_000_000, rng, spend)


async def size(store: Store) -> int:
    async with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
            page = (await conn.exec_driver_sql("PRAGMA page_size")).scalar_one()
            total = pages * page
        else:
            total = (
                await conn.exec_driver_sql(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
                )
            ).scalar_one()
        await conn.rollback()
    return int(total)


async def run(store: Store, entities: int, polls: int, fraction: float) -> list[Sample]:
    rng = random.Random(42)
    states = [ad(i, rng, rng.uniform(0, 300)) for i in range(entities)]
    samples = []
    for n in range(polls):
        kind = "first (all new)" if n == 0 else ("unchanged" if n == polls - 1 else f"{fraction:.0%} changed")
        if n > 0 and kind != "unchanged":
            for i in rng.sample(range(entities), int(entities * fraction)):
                states[i] = changed(states[i], rng)
        before = await size(store)
        with Heartbeat() as heartbeat:
            t0 = time.perf_counter()
            async with store.poll(ADV, T0 + timedelta(minutes=5 * n)) as poll:
                t1 = time.perf_counter()
                poll.save(states)
                await poll.compare()  # as the pipeline does: what changed, before the commit
                t2, c2 = time.perf_counter(), time.process_time()
            t3, c3 = time.perf_counter(), time.process_time()
        rows = (await store.polls(ADV, limit=1))[0].rows_written
        grew = await size(store) - before
        samples.append(Sample(kind, rows, t1 - t0, t2 - t1, t3 - t2, c3 - c2, grew, heartbeat.worst * 1000))
    return samples


def report(backend: str, entities: int, samples: list[Sample]) -> None:
    print(f"\n{backend}: {entities:,} ads, {len(samples)} polls")
    print(
        f"{'poll':<16} {'rows':>8} {'load s':>7} {'compare s':>9} {'commit s':>9} {'cpu s':>6} {'rows/s':>8} "
        f"{'entities/s':>11} "
        f"{'bytes/entity':>13} {'loop stall ms':>14}"
    )
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.kind, []).append(s)
    for kind, group in groups.items():
        rows = statistics.mean(s.rows for s in group)
        load = statistics.mean(s.load_s for s in group)
        compare = statistics.mean(s.compare_s for s in group)
        commit = statistics.mean(s.commit_s for s in group)
        cpu = statistics.mean(s.commit_cpu_s for s in group)
        whole = compare + commit
        grew = statistics.mean(s.grew for s in group) / entities
        stall = max(s.stall_ms for s in group)
        rate = f"{rows / commit:,.0f}" if rows else "-"
        print(
            f"{kind:<16} {rows:>8,.0f} {load:>7.2f} {compare:>9.2f} {commit:>9.2f} {cpu:>6.2f} {rate:>8} "
            f"{entities / whole:>11,.0f} "
            f"{grew:>13.1f} {stall:>14.0f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--polls", type=int, default=6, help="first + changed ones + one unchanged (at least 3)")
    parser.add_argument("--changed", type=float, default=0.05, help="fraction of entities changed per poll")
    args = parser.parse_args()
    polls = max(3, args.polls)

    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            report("SQLite", args.entities, await run(store, args.entities, polls, args.changed))
        finally:
            await store.close()

    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        print("\nPostgreSQL: skipped (set TEST_POSTGRES_URL to include it)")
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    store = await Store.open(url, schema=schema)
    try:
        report("PostgreSQL", args.entities, await run(store, args.entities, polls, args.changed))
    finally:
        await store.close()
        engine = create_async_engine(normalize_url(url))
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
