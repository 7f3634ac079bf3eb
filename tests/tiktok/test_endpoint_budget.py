"""Endpoints with a budget of their own (report/task/create/): their requests are spaced by the limiter before
they leave, without holding up other requests, so TikTok's 40016 is not drawn by this process."""

from __future__ import annotations

import asyncio

import pytest
from limiter_time import VirtualTime

from monitor.sandbox.arrivals import max_in_window
from monitor.tiktok.endpoint_budget import ENDPOINT_BUDGETS, EndpointWindows
from monitor.tiktok.ratelimit import RateLimiter

TASKS = "report/task/create/"


async def _grants(limiter: RateLimiter, vt: VirtualTime, endpoint: str, n: int) -> list[float]:
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire("7000000000000000001", endpoint)
        times.append(vt.now)

    await asyncio.gather(*(one() for _ in range(n)))
    return times


async def test_task_creates_are_granted_within_the_endpoints_budget():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    times = await _grants(limiter, vt, TASKS, 4)
    qps, _ = ENDPOINT_BUDGETS[TASKS]
    assert len(times) == 4
    assert max_in_window(times, 1.0) <= qps


async def test_the_endpoints_minute_budget_holds_too():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep, endpoint_budgets={TASKS: (5, 6)})
    times = await _grants(limiter, vt, TASKS, 9)
    assert max_in_window(times, 60.0) == 6
    assert max_in_window(times, 1.0) <= 5


async def test_other_endpoints_are_not_held_up_by_a_busy_one():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    start = vt.now
    await _grants(limiter, vt, TASKS, 3)  # the endpoint's windows are full now
    before = vt.now
    others = await _grants(limiter, vt, "report/integrated/get/", 5)
    assert before > start  # the creates were spaced
    assert others == [before] * 5  # the others went at once


def test_a_budget_below_one_request_is_refused():
    with pytest.raises(ValueError, match="report/task/create/"):
        EndpointWindows({TASKS: (0, 60)}, margin=0.1)


def test_an_endpoint_without_a_budget_never_waits():
    windows = EndpointWindows(ENDPOINT_BUDGETS, margin=0.1)
    assert windows.wait("ad/get/", 0.0) == 0.0
    assert windows.wait(None, 0.0) == 0.0


async def test_task_creates_asked_for_with_a_crowd_are_granted_in_the_order_they_asked():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    order: list[str] = []

    async def one(name: str, endpoint: str) -> None:
        await limiter.acquire("7000000000000000001", endpoint)
        order.append(name)

    creates = [one(f"create {i}", TASKS) for i in range(4)]
    crowd = [one(f"page {i}", "ad/get/") for i in range(40)]
    await asyncio.gather(*creates, *crowd)
    assert [name for name in order if name.startswith("create")] == [f"create {i}" for i in range(4)]
