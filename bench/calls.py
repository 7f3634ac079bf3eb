"""Calls of one poll against the minimum, and what the sandbox saw of them, for one large advertiser.

Starts the sandbox as a process of its own (``tiktok-monitor sandbox``: its request log has real arrival times
while the client's event loop parses, and the two do not share a GIL), with one advertiser of ``--ads`` ads, and
polls it once through ``fetch_snapshot`` with the fetch
plan of the rule files in ``--rules`` (default: the examples in rules/), the client at ``--qps`` (the sandbox
enforces the same). Prints the calls per endpoint, the minimum (each level's list pages; per window a rule reads,
the report's pages, or for an ad-level window past the sync report's 20,000 ads one async task: create, check,
download), the seconds, the busiest second the sandbox counted, its 40100 answers and the event loop's longest
stall.

    .venv/bin/python bench/calls.py [--ads 100000] [--qps 10] [--rules rules]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, tzinfo

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import EntityState, Level
from monitor.domain.windows import hour_dates
from monitor.fetch import FetchPlan, fetch_snapshot
from monitor.fetch_hours import hourly_windows
from monitor.fetch_plan import ruleset_plan
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.sandbox.arrivals import max_in_window
from monitor.tiktok.client import MAX_PAGE_SIZE, TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport, send_trace

TASK_CALLS = 3
CHANNELS = ("slack", "email", "webhook", "console", "ops", "default")


def minimum(
    states: tuple[EntityState, ...], plan: FetchPlan, cap: int, now: datetime, zone: tzinfo, *, hour_rows: bool
) -> int:
    """Each level's list pages, plus per window a rule reads the report's pages (1,000 rows a page; an ad-level
    window past ``cap`` ads one async task). A level's hourly windows share one report per local date
    (monitor.fetch_hours) whose rows are one per entity and hour: ``hour_rows`` counts every entity and hour of
    the date so far (an upper bound: TikTok leaves out rows without data), else one page per date (a lower one)."""
    calls = 0
    local = now.astimezone(zone)
    for level, level_plan in plan.levels.items():
        of_level = [s for s in states if s.level is level]
        if level is not Level.ADVERTISER:
            calls += max(1, math.ceil(len(of_level) / MAX_PAGE_SIZE))
        hourly = hourly_windows(level_plan.windows)
        for window in level_plan.windows:
            if window in hourly:
                continue
            if level is Level.AD and len(of_level) > cap:
                calls += TASK_CALLS
            else:
                calls += max(1, math.ceil(sum(1 for s in of_level if window in s.metrics) / MAX_PAGE_SIZE))
        for day in hour_dates(list(hourly), now, zone):
            hours = 24 if day < local.date() else local.hour + 1
            if level is Level.AD and len(of_level) > cap:
                calls += TASK_CALLS  # read as the ad level's other reports are past the cap: one task
            else:
                calls += max(1, math.ceil(len(of_level) * hours / MAX_PAGE_SIZE)) if hour_rows else 1
    return calls


async def stalls(done: asyncio.Event, seen: list[tuple[float, float]]) -> None:
    """When the event loop could not run this task (it asks to run every 10 ms), and for how long (> 20 ms)."""
    last = time.monotonic()
    while not done.is_set():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        if now - last - 0.01 > 0.02:
            seen.append((now, now - last - 0.01))
        last = now


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def started(session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]) -> None:
    while process.poll() is None:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{url}/sandbox/arrivals") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise SystemExit("the sandbox did not start")


async def main(ads: int, qps: int, rules: str) -> None:
    plan = ruleset_plan(load_rules(rules, channels=CHANNELS))
    for level, level_plan in plan.levels.items():
        print(f"  {level.value}: windows {', '.join(level_plan.windows) or '-'}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "monitor", "sandbox", "--port", str(port), "--qps", str(qps)]
    process = subprocess.Popen([*command, "--large-ads", str(ads)], stderr=subprocess.DEVNULL)  # noqa: S603, ASYNC220
    try:
        async with aiohttp.ClientSession(trace_configs=[send_trace()]) as session:
            t0 = time.perf_counter()
            await started(session, url, process)
            print(f"sandbox with {ads:,} ads started in {time.perf_counter() - t0:.1f}s")
            client = TikTokClient(
                Transport(session, base_url=url, access_token="sandbox-token", limiter=RateLimiter(qps))
            )
            info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
            async with session.post(f"{url}/sandbox/reset") as resp:
                resp.raise_for_status()
            done, seen = asyncio.Event(), list[tuple[float, float]]()
            watcher = asyncio.create_task(stalls(done, seen))
            t0, m0 = time.perf_counter(), time.monotonic()
            polled_at = SystemClock().now()
            result = await fetch_snapshot(client, info, plan, polled_at)
            seconds = time.perf_counter() - t0
            done.set()
            await watcher
            async with session.get(f"{url}/sandbox/arrivals") as resp:
                arrivals = await resp.json()
    finally:
        process.terminate()
        process.wait(10)
    times = [a["t"] for a in arrivals]
    last_call = m0 + (max(times) - min(times)) + 0.5  # monotonic, roughly: the stalls after it built the states
    while_calling = max((s for t, s in seen if t - s <= last_call), default=0.0)
    after = max((s for t, s in seen if t - s > last_call), default=0.0)
    worst = sorted(seen, key=lambda stall: -stall[1])[:5]
    print("longest stalls (s after the poll began, ms):", [(round(t - m0, 2), round(s * 1000)) for t, s in worst])
    by_path = Counter(a["path"] for a in arrivals)
    cap = client.sync_report_ads
    low = minimum(result.states, plan, cap, polled_at, info.zone(), hour_rows=False)
    high = minimum(result.states, plan, cap, polled_at, info.zone(), hour_rows=True)
    print(
        f"\none poll at {qps} QPS: {len(arrivals)} calls, minimum {low}-{high} (hourly reports at 1 page per date"
        " to one row per entity and hour so far)"
    )
    for path, n in sorted(by_path.items()):
        print(f"  {path:28} {n:5d}")
    print(
        f"{seconds:.1f}s; busiest second at the sandbox: {max_in_window(times, 1.0)} requests; "
        f"40100 answers: {sum(1 for a in arrivals if a['code'] == 40100)}; report errors: {len(result.errors)}\n"
        f"longest event loop stall while requests were made: {while_calling * 1000:.0f} ms; after the last one "
        f"(building the snapshot's states): {after * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--qps", type=int, default=10)
    parser.add_argument("--rules", default="rules")
    args = parser.parse_args()
    asyncio.run(main(args.ads, args.qps, args.rules))
