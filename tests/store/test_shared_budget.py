"""One API budget per app across replicas (issue 14): three processes' clients, each with its own RateLimiter and
its own connection to one database (SQLite file, PostgreSQL), hammer the sandbox, which enforces TikTok's 10 QPS
per app and logs when each request arrived. Without the shared budget each would send 10 per second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from monitor.sandbox import Sandbox
from monitor.sandbox.arrivals import max_in_window
from monitor.sandbox.faults import Fault
from monitor.store import Store
from monitor.store.budget import AppBudget
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy, Transport
from tests.store.conftest import Database

ADV = "7000000000000000001"
MAX_QPS = 10
REPLICAS = 3
FIRST_PAUSE = 3.0


class Replica:
    """What one process of the fleet has: its store (own engine), its limiter, its client."""

    def __init__(self, store: Store, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.store = store
        self.budget = AppBudget(store.engine, "4242")
        self.limiter = RateLimiter(MAX_QPS, first_pause=FIRST_PAUSE, slow_period=5.0, shared=self.budget)
        transport = Transport(
            http,
            base_url=sandbox.base_url,  # type: ignore[attr-defined]
            access_token="sandbox-token",
            limiter=self.limiter,
            retry=RetryPolicy(max_retries=5, base_delay=0.01, max_delay=0.05),
        )
        self.client = TikTokClient(transport)

    async def reads(self, n: int) -> list[int]:
        return [len(c) for c in await asyncio.gather(*(self.client.campaigns(ADV) for _ in range(n)))]


@pytest.fixture
async def replicas(database: Database, sandbox: Sandbox, http: aiohttp.ClientSession) -> AsyncIterator[list[Replica]]:
    stores = [await database.open() for _ in range(REPLICAS)]
    yield [Replica(store, sandbox, http) for store in stores]
    for store in stores:
        await store.close()


async def test_three_replicas_never_send_more_than_max_qps_together(replicas: list[Replica], sandbox: Sandbox) -> None:
    reads = 12
    counts = await asyncio.wait_for(asyncio.gather(*(r.reads(reads) for r in replicas)), 60)
    assert counts == [[3] * reads] * REPLICAS
    arrivals = list(sandbox.arrivals)
    assert len(arrivals) == reads * REPLICAS
    assert all(a.code == 0 for a in arrivals), "the sandbox never had to throttle"
    assert max_in_window([a.t for a in arrivals], 1.0) <= MAX_QPS
    batches = sum(r.budget.batches for r in replicas)
    assert batches < len(arrivals)  # batches of tokens, not one per request


async def test_an_app_throttle_met_by_one_replica_pauses_them_all(replicas: list[Replica], sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(kind="api_code", code=40100, count=1))
    reads = 10
    counts = await asyncio.wait_for(asyncio.gather(*(r.reads(reads) for r in replicas)), 60)
    assert counts == [[3] * reads] * REPLICAS  # every read completed, the throttled one retried
    arrivals = list(sandbox.arrivals)
    throttled = [a for a in arrivals if a.code == 40100]
    assert len(throttled) == 1
    x = throttled[0].t
    # the replica that met it pauses at once and records the pause; the others learn it at their next lease (a
    # batch lives 0.1 s): after the requests granted before (0.6 s allows for a slow, shared machine) nobody
    # sends until the pause is over
    during = [round(a.t - x, 3) for a in arrivals if x + 0.6 <= a.t <= x + FIRST_PAUSE - 0.1]
    assert during == []
    assert [r.limiter.episodes for r in replicas] == [1] * REPLICAS  # each saw the app's episode
    assert sum(r.limiter.pauses for r in replicas) == 1  # one pause made, the others adopted it
