"""Memory of the hourly-history cache (monitor.store.hourly): bytes per cached entity-hour, one day of
``--ads`` ads, and what the cache holds after a poll reads ``--days`` such days, with its bound.

Stores the days in a SQLite file, reads them through ``HourlyHistory.load`` and measures with tracemalloc what
the cache keeps once the answer is dropped.

    .venv/bin/python bench/hourly_cache.py [--ads 10000] [--days 4] [--metrics 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from monitor.domain import Level
from monitor.store.hourly import CACHED_HOURS, HourlyHistory
from monitor.store.repo import Store

METRICS = ("spend", "clicks", "impressions", "conversion")


async def main(ads: int, days: int, metrics: int) -> None:
    names = METRICS[:metrics]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'h.db'}"
        store = await Store.open(url)
        engine = store.engine
        writer = HourlyHistory(engine)
        dates = [date(2026, 11, 17) - timedelta(days=7 * n) for n in range(days)]
        rows = {f"{7_000_000 + i}": {h: {m: 1.0 + i + h / 100 for m in names} for h in range(24)} for i in range(ads)}
        for day in dates:
            await writer.save_day("adv", Level.AD, day, names, rows, datetime(2026, 11, 25, tzinfo=UTC))
        del rows
        reader = HourlyHistory(engine)
        stored = await reader.stored_days("adv", Level.AD, dates)
        gc.collect()
        started = time.perf_counter()
        await HourlyHistory(engine, cached_hours=0).load("adv", Level.AD, stored)  # no cache: read from the database
        seconds = time.perf_counter() - started
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await reader.load("adv", Level.AD, stored)  # the answer is dropped at once: what stays is the cache
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        await store.close()
    hours = reader.hours_cached
    print(f"{ads} ads x 24 h x {metrics} metrics, {days} days read; cache bound {CACHED_HOURS:,} entity-hours")
    print(f"cached: {hours:,} entity-hours, {kept / 1e6:.1f} MB ({kept / max(hours, 1):.0f} bytes each)")
    print(f"reading the {days} days from the database (nothing cached): {seconds:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--metrics", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.ads, args.days, args.metrics))
