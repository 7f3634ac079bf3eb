"""The previous snapshot's path through a warm poll as the pipeline takes it, stage by stage, on the same data:
``begin`` (the lease taken, the previous snapshot read by fingerprint: monitor.store.poll.begin, monitor.store.lean),
``compare`` (``PollWriter.compare``: the unchanged rows settled, the texts of the rows left read again, the rows and
history the poll writes worked out: monitor.store.poll_changes) and ``previous`` (the previous snapshot made whole).

Polls the sandbox once into a fresh SQLite database (the previous snapshot), fetches again ``--wait`` seconds
later (the sandbox's ads all spend, so the longer the wait, the more entities changed), and then ``--runs`` times
runs the path on the fetched states; nothing of the second poll is written, so every run sees the same data. CPU
seconds are this process's (every thread), medians over the runs. ``--db`` keeps the database (and its first poll)
to run again on the same data. Start the sandbox first, e.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 --flat-delivery &
    .venv/bin/python bench/store_settle.py --base-url http://127.0.0.1:48200 [--runs 5] [--wait 20]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pickle
import statistics
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import EntityState
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.gctune import tune_collector
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.store import Store, poll
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

RULES = Path(__file__).parent / "rules"
STAGES = ("begin", "compare", "previous")


async def _path(store: Store, states: list[EntityState], plan: Any, finite: bool) -> tuple[list[float], int]:
    """One poll's path (monitor.pipeline's: begin, save, compare, then the previous snapshot read): CPU seconds of
    each stage, and the rows the poll would write. The poll is then failed (its lease given back; nothing written
    but its record), so every run reads the same previous snapshot."""
    gc.collect()
    now = SystemClock().now()
    laps = [time.process_time()]
    writer = await poll.begin(store.engine, LARGE_ADVERTISER_ID, now, "bench", timedelta(minutes=5), fingerprints=True)
    laps.append(time.process_time())
    writer.save(states, levels=plan.levels, finite=finite)
    await writer.compare(None)
    laps.append(time.process_time())
    assert writer.previous is not None
    laps.append(time.process_time())
    rows = len(writer.changes()[0])
    await poll.fail(store.engine, writer, now, "bench")
    return [b - a for a, b in pairwise(laps)], rows


async def main(base_url: str, runs: int, wait: float, db: Path, fresh: bool) -> None:
    plan = ruleset_plan(load_rules(RULES, channels=["console"]))
    tune_collector()  # as every command does (monitor.gctune)
    clock = SystemClock()
    fetched_file = db.with_suffix(".fetched")
    store = await Store.open(f"sqlite:///{db}")
    try:
        if fresh:
            async with aiohttp.ClientSession() as session:
                limiter = RateLimiter(1000)
                client = TikTokClient(
                    Transport(session, base_url=base_url, access_token="sandbox-token", limiter=limiter)
                )
                info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
                first = await fetch_snapshot(client, info, plan, clock.now())
                async with store.poll(info.id, clock.now()) as poll:
                    poll.save(first.states, levels=plan.levels, finite=first.finite)
                del first, poll
                await asyncio.sleep(wait)
                fetched = await fetch_snapshot(client, info, plan, clock.now())
            fetched_file.write_bytes(pickle.dumps((list(fetched.states), fetched.finite)))
        saved, finite = pickle.loads(fetched_file.read_bytes())  # noqa: S301 (this bench's own file)
        seconds: dict[str, list[float]] = {}
        for _ in range(runs):
            spent, changed = await _path(store, saved, plan, finite)
            for stage, lap in zip(STAGES, spent, strict=True):
                seconds.setdefault(stage, []).append(lap)
    finally:
        await store.close()
    print(f"{len(saved):,} entities, {changed:,} rows to write, {runs} runs (CPU s, medians)")
    median = [statistics.median(seconds[stage]) for stage in STAGES]
    print("".join(f"{stage:>10}" for stage in (*STAGES, "total")))
    print("".join(f"{s:10.3f}" for s in (*median, sum(median))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file (made with its first poll if absent)")
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.runs, args.wait, args.db, not args.db.exists()))
