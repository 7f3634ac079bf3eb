"""A poll's fixed cost in the store, and a lease of the app's budget: CPU (and wall) per poll and per lease, in
process, on a fresh SQLite file.

* ``lease``: :meth:`monitor.store.budget.AppBudget.lease` one after another (what a limiter does for each burst
  of requests more than a batch's validity apart: a warm 100,000-ad ``once`` leases about 80 times).
* ``poll``: what every poll of a small advertiser does in the store besides its rows: ``Store.poll`` (lease,
  record, previous snapshot, commit) of three entities whose spend moved, ``compare``, ``poll_reads``, the
  journal's recent entries and the advertiser's row; ``--advertisers`` polls at once, as ``once`` runs them.

CPU is the process's (every thread's: aiosqlite's too). Compare two checkouts by running this file from each
with its own PYTHONPATH, back to back.

    PYTHONPATH=. .venv/bin/python bench/poll_overhead.py [--leases 400] [--advertisers 20] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.domain import EntityState, Level
from monitor.store import Store
from monitor.store.budget import AppBudget

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def entity(advertiser_id: str, level: Level, spend: float) -> EntityState:
    return EntityState(
        level=level,
        id=f"{advertiser_id[-2:]}{level.value}",
        advertiser_id=advertiser_id,
        name=f"{level.value} of {advertiser_id}",
        operation_status="ENABLE",
        secondary_status="CAMPAIGN_STATUS_ENABLE",
        campaign_id=None if level is Level.CAMPAIGN else f"{advertiser_id[-2:]}campaign",
        adgroup_id=f"{advertiser_id[-2:]}adgroup" if level is Level.AD else None,
        metrics={"today": {"spend": spend, "impressions": 1000 + spend}},
    )


async def leases(store: Store, n: int) -> tuple[float, float]:
    budget = AppBudget(store.engine, "bench")
    for _ in range(20):  # the app's row, the pool's connection
        await budget.lease(1, qps=100_000, per_minute=6_000_000)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await budget.lease(1, qps=100_000, per_minute=6_000_000)
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


async def polls(store: Store, advertisers: int, rounds: int) -> float:
    ids = [f"70000000000000001{i:02d}" for i in range(advertisers)]

    async def poll(advertiser_id: str, k: int) -> None:
        now = T0 + timedelta(minutes=5 * k)
        async with store.poll(advertiser_id, now, fingerprints=True) as writer:
            writer.save([entity(advertiser_id, level, float(k)) for level in Level])
            await writer.compare()
            await store.poll_reads(advertiser_id, now)
            await store.journal.recent_and_pending(advertiser_id, now - timedelta(days=1))
            await store.advertiser(advertiser_id)

    for k in (0, 1):  # the first poll and the first warm one: statements compiled, the pool filled
        for advertiser_id in ids:
            await poll(advertiser_id, k)
    cpu = time.process_time()
    for k in range(2, 2 + rounds):
        await asyncio.gather(*(poll(advertiser_id, k) for advertiser_id in ids))
    return (time.process_time() - cpu) / (rounds * advertisers)


async def main(n_leases: int, advertisers: int, rounds: int, repeats: int) -> None:
    lease_cpu, lease_wall, poll_cpu = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as directory:
            store = await Store.open(f"sqlite:///{Path(directory) / 'monitor.db'}")
            try:
                cpu, wall = await leases(store, n_leases)
                lease_cpu.append(cpu)
                lease_wall.append(wall)
                poll_cpu.append(await polls(store, advertisers, rounds))
            finally:
                await store.close()
    ms = 1000
    print(f"medians of {repeats}")
    print(f"lease: {statistics.median(lease_cpu) * ms:.2f} ms CPU, {statistics.median(lease_wall) * ms:.2f} ms wall")
    print(f"poll of a small advertiser, store only: {statistics.median(poll_cpu) * ms:.2f} ms CPU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leases", type=int, default=400)
    parser.add_argument("--advertisers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.leases, args.advertisers, args.rounds, args.repeats))
