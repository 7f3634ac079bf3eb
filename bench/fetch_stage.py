"""The fetch stage alone (step 1 of a poll) for one large advertiser: CPU, wall time and memory.

Runs :func:`monitor.fetch.fetch_snapshot` with the plan of bench/rules against a sandbox started apart (so its
CPU is not counted here), ``--runs`` times, and prints each run's CPU seconds (user+sys of this process, every
thread: the CSV parse runs in one), wall seconds, the states built, and the process's peak RSS (the collector
tuned as the commands tune it: monitor.gctune). Start the sandbox first, e.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 &
    .venv/bin/python bench/fetch_stage.py --base-url http://127.0.0.1:48200 [--runs 3] [--keep]

``--keep`` holds each run's states until the next one is built (as a poll holds its snapshot), so the peak RSS
includes them. To see where the CPU goes, run it under py-spy (``py-spy record -r 200 -f raw -- ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import time
from pathlib import Path

import aiohttp

from monitor.clock import SystemClock
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.gctune import tune_collector
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

RULES = Path(__file__).parent / "rules"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(base_url: str, runs: int, keep: bool) -> None:
    plan = ruleset_plan(load_rules(RULES, channels=["console"]))
    tune_collector()  # as every command does (monitor.gctune)
    print(f"plan: { ({lv.value: dict(lp.windows) for lv, lp in plan.levels.items()}) }")
    kept = None
    async with aiohttp.ClientSession() as session:
        transport = Transport(session, base_url=base_url, access_token="sandbox-token", limiter=RateLimiter(1000))
        client = TikTokClient(transport)
        info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
        print(f"before: peak RSS {_peak_mb():.0f} MB")
        for run in range(1, runs + 1):
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            result = await fetch_snapshot(client, info, plan, SystemClock().now())
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"run {run}: {cpu:.2f} s CPU, {wall:.2f} s wall, {len(result.states):,} states, "
                f"{len(result.errors)} errors, peak RSS {_peak_mb():.0f} MB"
            )
            kept = result if keep else None
            del result
    del kept


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.runs, args.keep))
