"""The previous snapshot of a warm poll read in full (an entity state per row: monitor.store.snapshots.load_current)
and read lean (the rows as read, a state made only for the entities that changed: monitor.store.lean), each
followed by the comparison, the previous snapshot made whole, and the diff a poll runs, on the same data.

Polls the sandbox once into a fresh SQLite database (the previous snapshot), fetches again ``--wait`` seconds
later (the sandbox's ads all spend, so the longer the wait, the more entities changed), then ``--runs`` times
each way, in turns (each way first every other run): loads the previous snapshot and compares the fetched states
with it, as a poll does (nothing of the second poll is written, so every run sees the same data). CPU seconds are
this process's (every thread), medians over the runs; ``held`` is what the previous snapshot holds once loaded
(through the fetch) and once compared (through the rules and the commit): tracemalloc, a run of its own each way,
as tracing slows everything. Start the sandbox first, e.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 &
    .venv/bin/python bench/store_lean.py --base-url http://127.0.0.1:48200 [--runs 5] [--wait 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import EntityKey, EntityState, Snapshot
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.gctune import tune_collector
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.store import Store
from monitor.store.db import reading
from monitor.store.diff import diff_snapshots
from monitor.store.lean import load_lean
from monitor.store.poll_changes import poll_changes
from monitor.store.snapshots import load_current
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

RULES = Path(__file__).parent / "rules"
STAGES = ("load", "compare", "diff")


async def _way(store: Store, lean: bool, states: dict[EntityKey, EntityState], plan: Any, now: Any) -> list[float]:
    """One poll's load, comparison (with the previous snapshot made whole) and diff: CPU seconds of each."""
    gc.collect()
    laps = [time.process_time()]
    async with reading(store.engine) as conn:
        read = await (load_lean if lean else load_current)(conn, LARGE_ADVERTISER_ID)
    assert read is not None
    laps.append(time.process_time())
    if lean:
        poll_changes(read, states, plan.levels)
        previous = read.snapshot()  # type: ignore[union-attr]
    else:
        previous = read  # type: ignore[assignment]
        poll_changes(previous.entities, states, plan.levels)
    laps.append(time.process_time())
    diff_snapshots(previous, Snapshot(previous.advertiser_id, previous.poll_id + 1, now, states), metrics=False)
    laps.append(time.process_time())
    return [b - a for a, b in pairwise(laps)]


async def _held(store: Store, lean: bool, states: dict[EntityKey, EntityState], plan: Any) -> tuple[float, float]:
    """MB the previous snapshot holds once loaded (through the fetch) and once compared (through the rules and
    the commit: the comparison's rows let go)."""
    gc.collect()
    tracemalloc.start()
    async with reading(store.engine) as conn:
        read = await (load_lean if lean else load_current)(conn, LARGE_ADVERTISER_ID)
    loaded = tracemalloc.get_traced_memory()[0]
    assert read is not None
    changes = poll_changes(read if lean else read.entities, states, plan.levels)  # type: ignore[union-attr, arg-type]
    previous = read.snapshot() if lean else read  # type: ignore[union-attr]
    del read, changes
    gc.collect()
    compared = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del previous
    return loaded / 1e6, compared / 1e6


async def main(base_url: str, runs: int, wait: float) -> None:
    plan = ruleset_plan(load_rules(RULES, channels=["console"]))
    tune_collector()  # as every command does (monitor.gctune)
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'monitor.db'}")
        try:
            async with aiohttp.ClientSession() as session:
                limiter = RateLimiter(1000)
                client = TikTokClient(
                    Transport(session, base_url=base_url, access_token="sandbox-token", limiter=limiter)
                )
                info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
                first = await fetch_snapshot(client, info, plan, clock.now())
                async with store.poll(info.id, clock.now()) as poll:
                    poll.save(first.states, levels=plan.levels)
                del first, poll
                await asyncio.sleep(wait)
                now = clock.now()
                fetched = await fetch_snapshot(client, info, plan, now)
            states = {state.key: state for state in fetched.states}
            seconds: dict[tuple[str, str], list[float]] = {}
            for run in range(runs):
                for way in ("full", "lean") if run % 2 else ("lean", "full"):  # neither always second
                    for stage, spent in zip(STAGES, await _way(store, way == "lean", states, plan, now), strict=True):
                        seconds.setdefault((way, stage), []).append(spent)
            held = {way: await _held(store, way == "lean", states, plan) for way in ("full", "lean")}
            async with reading(store.engine) as conn:
                previous = await load_current(conn, info.id)
            assert previous is not None
            changed = len(poll_changes(previous.entities, states, plan.levels)[0])
        finally:
            await store.close()
    print(f"{len(states):,} entities, {changed:,} rows to write ({wait:.0f} s apart), {runs} runs")
    print(f"{'':6}" + "".join(f"{stage:>10}" for stage in (*STAGES, "total")) + "   held: loaded, compared")
    for way in ("full", "lean"):
        median = [statistics.median(seconds[(way, stage)]) for stage in STAGES]
        cells = "".join(f"{s:10.3f}" for s in (*median, sum(median)))
        print(f"{way:6}{cells}{held[way][0]:10.1f} MB{held[way][1]:8.1f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.runs, args.wait))
