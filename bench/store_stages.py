"""The in-memory stages of a warm poll of one large advertiser, each timed on the same data: loading the previous
snapshot, comparing (the rows and history a poll writes), the diff, the rules, and letting the previous
snapshot go (the fetched states are kept for the next run).

Polls the sandbox once into a fresh SQLite database (the previous snapshot), fetches again ``--wait`` seconds
later (the sandbox's ads all spend, so the longer the wait, the more entities changed), and then, ``--runs``
times, loads the previous snapshot from the database and runs each stage on it and the fetched states, as a poll
does (:mod:`monitor.pipeline`; the collector tuned as the commands tune it). Nothing of the second poll is
written, so every run sees the same previous snapshot and the same states. CPU seconds are this process's (every
thread), medians over the runs. Start the sandbox first, e.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 &
    .venv/bin/python bench/store_stages.py --base-url http://127.0.0.1:48200 [--runs 3] [--wait 60]

To see where a stage's CPU goes, run it under py-spy or wrap the stage in cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import Snapshot
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.gctune import tune_collector
from monitor.rules.engine import evaluate
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.store import Store
from monitor.store.db import reading
from monitor.store.diff import diff_snapshots
from monitor.store.poll_changes import poll_changes
from monitor.store.snapshots import load_current
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

RULES = Path(__file__).parent / "rules"
STAGES = ("load", "compare", "diff", "evaluate", "free")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(base_url: str, runs: int, wait: float) -> None:
    ruleset = load_rules(RULES, channels=["console"])
    plan = ruleset_plan(ruleset)
    tune_collector()  # as every command does (monitor.gctune)
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'monitor.db'}")
        try:
            async with aiohttp.ClientSession() as session:
                transport = Transport(
                    session, base_url=base_url, access_token="sandbox-token", limiter=RateLimiter(1000)
                )
                client = TikTokClient(transport)
                info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
                first = await fetch_snapshot(client, info, plan, clock.now())
                async with store.poll(info.id, clock.now()) as poll:
                    poll.save(first.states, levels=plan.levels)
                del first, poll
                await asyncio.sleep(wait)
                now = clock.now()
                fetched = await fetch_snapshot(client, info, plan, now)
            states = {state.key: state for state in fetched.states}
            seconds: dict[str, list[float]] = {stage: [] for stage in STAGES}
            for _ in range(runs):
                gc.collect()
                cpu = time.process_time()
                async with reading(store.engine) as conn:
                    previous = await load_current(conn, info.id)
                assert previous is not None
                cpu = _lap(seconds, "load", cpu)
                rows, history = poll_changes(previous.entities, states, plan.levels)
                cpu = _lap(seconds, "compare", cpu)
                current = Snapshot(info.id, previous.poll_id + 1, now, states)
                diff_snapshots(previous, current, metrics=False)
                cpu = _lap(seconds, "diff", cpu)
                evaluate(ruleset, current, previous, now, zone=info.timezone, currency=info.currency)
                cpu = _lap(seconds, "evaluate", cpu)
                del previous, current
                gc.collect()
                _lap(seconds, "free", cpu)
        finally:
            await store.close()
    print(f"{len(states):,} entities, {len(rows):,} changed ({len(history.windows):,} windows, {wait:.0f} s apart)")
    for stage in STAGES:
        each = ", ".join(f"{s:.3f}" for s in seconds[stage])
        print(f"{stage:10} {statistics.median(seconds[stage]):6.3f} s CPU  ({each})")
    print(f"peak RSS {_peak_mb():.0f} MB")


def _lap(seconds: dict[str, list[float]], stage: str, since: float) -> float:
    now = time.process_time()
    seconds[stage].append(now - since)
    return now


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.runs, args.wait))
