"""One API budget for several replicas (issue 14): what it costs.

Starts the sandbox in-process (enforcing ``--qps`` per app), then ``--replicas`` clients, each as its own process
would have it: its own store (engine) on one database, its own RateLimiter sharing the app's budget through it
(:class:`monitor.store.budget.AppBudget`). Each reads campaigns ``--reads`` times, all at once. Prints, per
database: requests per second per replica and for the fleet, the most requests the sandbox saw in any second,
40100 answers, and the database transactions (leases and pauses) and batches per 100 requests. ``--replicas 1
--no-shared`` is the per-process limiter as before.

    .venv/bin/python bench/bench_budget.py [--replicas 3] [--reads 40] [--qps 10] [--postgres URL] [--no-shared]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.clock import SystemClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.arrivals import max_in_window
from monitor.store import Store
from monitor.store.budget import AppBudget
from monitor.store.db import normalize_url
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

ADV = "7000000000000000001"


async def run(name: str, url: str, schema: str | None, replicas: int, reads: int, qps: int, shared: bool) -> None:
    sandbox = Sandbox(SandboxSettings(qps=qps), clock=SystemClock())
    stores = [await Store.open(url, schema=schema) for _ in range(replicas)]
    budgets = [AppBudget(store.engine, "bench") for store in stores]
    try:
        async with sandbox.serve(host="127.0.0.1", port=0) as base_url, aiohttp.ClientSession() as session:
            limiters = [RateLimiter(qps, shared=budget if shared else None) for budget in budgets]
            clients = [
                TikTokClient(Transport(session, base_url=base_url, access_token="sandbox-token", limiter=lim))
                for lim in limiters
            ]
            took = [0.0] * replicas

            async def read(index: int) -> None:
                started = time.perf_counter()
                await asyncio.gather(*(clients[index].campaigns(ADV) for _ in range(reads)))
                took[index] = time.perf_counter() - started

            started = time.perf_counter()
            await asyncio.gather(*(read(i) for i in range(replicas)))
            fleet = time.perf_counter() - started
    finally:
        for store in stores:
            await store.close()
    arrivals = list(sandbox.arrivals)
    n = len(arrivals)
    trips = sum(b.round_trips for b in budgets)
    batches = sum(b.batches for b in budgets)
    per_replica = ", ".join(f"{reads / t:.1f}" for t in took)
    busiest = max_in_window([a.t for a in arrivals], 1.0)
    print(
        f"{name:10} {'shared' if shared else 'alone':6} replicas {replicas}: {n} requests in {fleet:.1f}s = "
        f"{n / fleet:.1f}/s (per replica {per_replica}); most in any second {busiest}"
        f", 40100 answers {sum(1 for a in arrivals if a.code == 40100)}; per 100 requests: "
        f"{100 * trips / n:.0f} transactions, {100 * batches / n:.0f} batches"
    )


async def main(replicas: int, reads: int, qps: int, postgres: str | None, shared: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await run("sqlite", f"sqlite:///{Path(tmp) / 'm.db'}", None, replicas, reads, qps, shared)
    if postgres:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        try:
            await run("postgresql", postgres, schema, replicas, reads, qps, shared)
        finally:
            engine = create_async_engine(normalize_url(postgres))
            async with engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--qps", type=int, default=10)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (a schema of its own is made and dropped)")
    parser.add_argument("--no-shared", dest="shared", action="store_false")
    args = parser.parse_args()
    asyncio.run(main(args.replicas, args.reads, args.qps, args.postgres, args.shared))
