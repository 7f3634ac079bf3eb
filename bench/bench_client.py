"""How long one poll's reads take for a large account, through the real client and the sandbox.

Starts the sandbox in-process with one advertiser of N ads (default 100,000), then, through TikTokClient
with the app-wide limiter at the Basic tier (10 QPS), reads every ad (page_size 1000) and today's ad-level
report (sync: capped at 20,000 ads, so the async report task is used too). Prints calls, seconds and rows/s.

    .venv/bin/python bench/bench_client.py [--ads 100000] [--qps 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from monitor.clock import SystemClock
from monitor.domain import Level
from monitor.sandbox import LARGE_ADVERTISER_ID, Sandbox, SandboxSettings
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport


async def main(ads: int, qps: int) -> None:
    started = time.perf_counter()
    sandbox = Sandbox(SandboxSettings(large_ads=ads, qps=max(qps, 10)), clock=SystemClock())
    print(f"sandbox world with {ads:,} ads built in {time.perf_counter() - started:.1f}s")
    async with sandbox.serve(host="127.0.0.1", port=0) as base_url, aiohttp.ClientSession() as session:
        limiter = RateLimiter(qps)
        transport = Transport(session, base_url=base_url, access_token="sandbox-token", limiter=limiter)
        client = TikTokClient(transport)
        today = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0].local_date(SystemClock().now())
        rows = []
        ad_query = ReportQuery(Level.AD, ("spend", "impressions", "conversion"), today)

        async def measure(label: str, call):
            calls, t0 = transport.calls, time.perf_counter()
            result = await call
            if hasattr(result, "table_off_loop"):  # an async report's CSV is read when first used: time it too
                await result.table_off_loop()
            seconds = time.perf_counter() - t0
            count = len(result.rows) if hasattr(result, "rows") else len(result)
            rows.append((label, transport.calls - calls, seconds, count))
            return result

        await measure("ad/get (all pages)", client.entities(Level.AD, LARGE_ADVERTISER_ID))
        report = await measure(
            "sync report, ad level, today",
            client.report(LARGE_ADVERTISER_ID, ad_query),
        )
        await measure(
            "async report task, ad level",
            client.async_report(LARGE_ADVERTISER_ID, ad_query),
        )
        await measure(
            "sync report, campaign level",
            client.report(LARGE_ADVERTISER_ID, ReportQuery(Level.CAMPAIGN, ("spend", "impressions"), today)),
        )
    print(f"\nclient at {qps} QPS (sync report truncated at the 20,000-ad cap: {report.truncated})")
    print(f"{'read':32} {'calls':>6} {'seconds':>8} {'rows':>8} {'rows/s':>9}")
    for label, calls, seconds, count in rows:
        print(f"{label:32} {calls:6d} {seconds:8.1f} {count:8,d} {count / seconds:9,.0f}")
    print(f"throttled by the sandbox: {limiter.throttles} times")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--qps", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.ads, args.qps))
