"""The sandbox's per-endpoint limit (report/task/create/: 2 QPS) meets the client: four async reports at once
are spaced by the client's own budget of that endpoint and draw no 40016; without that budget (another process
creating tasks with the same app, as far as this one can tell) the ones past the limit get 40016, the client
pauses that endpoint only, and every report completes."""

from __future__ import annotations

import asyncio

from monitor.domain import Level
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy

ADV = "7000000000000000001"


async def _no_wait(_: float) -> None:
    return None


async def test_async_reports_created_together_stay_within_the_task_endpoints_limit(sandbox, make_client):
    client = make_client(retry=RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05))
    query = ReportQuery(Level.CAMPAIGN, ("spend",), lifetime=True)
    reports = await asyncio.gather(*(client.async_report(ADV, query, sleep=_no_wait) for _ in range(4)))
    assert all(r.rows for r in reports)
    created = [a.code for a in sandbox.arrivals if a.path == "report/task/create/"]
    assert created == [0, 0, 0, 0]


async def test_async_reports_past_the_task_endpoints_limit_all_complete(sandbox, make_client):
    unaware = RateLimiter(10, endpoint_budgets={})  # as if another process had created tasks just before
    client = make_client(limiter=unaware, retry=RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05))
    query = ReportQuery(Level.CAMPAIGN, ("spend",), lifetime=True)
    reports = await asyncio.gather(*(client.async_report(ADV, query, sleep=_no_wait) for _ in range(4)))
    assert all(r.rows for r in reports)
    created = [a.code for a in sandbox.arrivals if a.path == "report/task/create/"]
    assert 40016 in created and created.count(0) == 4
