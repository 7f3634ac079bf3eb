"""Two processes on one app (``run`` with ``once`` started beside it): how long their reads take when the
app's budget is exceeded, and how the throttles group into episodes.

Starts the sandbox in-process (it enforces ``--qps`` per app, answering 40100 past it), then two clients, each
with its own limiter at the full ``--qps`` (as two processes have), read every list (campaigns, ad groups, ads)
of ``--advertisers`` advertisers, all at once; the second starts ``--stagger`` seconds after the first. Each
limiter's longest pause is capped as the daemon caps it: ``pause_cap(--interval)``.

    .venv/bin/python bench/bench_throttle.py [--advertisers 20] [--qps 10] [--interval 300] [--stagger 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import Level
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.settings import extra_advertiser_id
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.throttle import pause_cap
from monitor.tiktok.transport import Transport


async def main(advertisers: int, qps: int, interval: float, stagger: float) -> None:
    sandbox = Sandbox(SandboxSettings(qps=qps, extra_advertisers=advertisers), clock=SystemClock())
    ids = [extra_advertiser_id(i) for i in range(advertisers)]
    async with sandbox.serve(host="127.0.0.1", port=0) as base_url, aiohttp.ClientSession() as session:
        limiters = [RateLimiter(qps, max_pause=pause_cap(interval)) for _ in range(2)]
        clients = [
            TikTokClient(Transport(session, base_url=base_url, access_token="sandbox-token", limiter=limiter))
            for limiter in limiters
        ]
        seconds: list[float] = [0.0, 0.0]
        levels = (Level.CAMPAIGN, Level.ADGROUP, Level.AD)

        async def read_all(index: int, delay: float) -> None:
            await asyncio.sleep(delay)
            started = time.perf_counter()
            client = clients[index]
            await asyncio.gather(*(client.entities(level, a) for a in ids for level in levels))
            seconds[index] = time.perf_counter() - started

        await asyncio.gather(read_all(0, 0.0), read_all(1, stagger))
    refused = sum(1 for a in sandbox.arrivals if a.code == 40100)
    print(f"{advertisers} advertisers x 3 lists per client, sandbox at {qps} QPS, max pause "
          f"{pause_cap(interval):.0f}s (interval {interval:.0f}s), second client {stagger}s later; "
          f"40100 answers in all: {refused}")  # fmt: skip
    print(f"{'client':8} {'requests':>8} {'seconds':>8} {'throttled':>9} {'episodes':>8} {'pauses':>6} {'longest':>7}")
    for name, limiter, took in zip(("run", "once"), limiters, seconds, strict=True):
        print(
            f"{name:8} {limiter.granted:8d} {took:8.1f} {limiter.throttles:9d} {limiter.episodes:8d} "
            f"{limiter.pauses:6d} {limiter.longest_pause:6.1f}s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--advertisers", type=int, default=20)
    parser.add_argument("--qps", type=int, default=10)
    parser.add_argument("--interval", type=float, default=300.0)
    parser.add_argument("--stagger", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(main(args.advertisers, args.qps, args.interval, args.stagger))
