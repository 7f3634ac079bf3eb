"""The app-wide limiter, driven by a virtual clock: windows, fairness, throttle pauses."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.tiktok.ratelimit import FIRST_PAUSE, RateLimiter


class VirtualTime:
    """A monotonic clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def grant_all(limiter: RateLimiter, vt: VirtualTime, callers: int, per_caller: int) -> list[float]:
    grants: list[float] = []

    async def caller() -> None:
        for _ in range(per_caller):
            await limiter.acquire()
            grants.append(vt.now)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return grants


async def test_never_more_than_max_qps_in_any_second_with_50_callers():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    grants = await grant_all(limiter, vt, callers=50, per_caller=3)
    assert len(grants) == 150
    assert max_in_window(grants, 1.0) == 10
    # and it is not needlessly slow: 150 grants at 10/s take about 14 s of virtual time
    assert grants[-1] - grants[0] < 15.0


async def test_per_minute_budget_holds_when_second_budget_would_allow_more():
    vt = VirtualTime()
    limiter = RateLimiter(10, per_minute=30, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    grants = await grant_all(limiter, vt, callers=5, per_caller=12)
    assert max_in_window(grants, 60.0) == 30
    assert max_in_window(grants, 1.0) <= 10


async def test_default_minute_budget_is_sixty_times_qps():
    assert RateLimiter(10).per_minute == 600


async def test_throttle_pauses_everyone_and_halves_the_rate():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    throttled_at = vt.now
    pause = limiter.throttled()
    assert pause == FIRST_PAUSE
    grants = await grant_all(limiter, vt, callers=10, per_caller=2)
    assert min(grants) >= throttled_at + pause
    assert max_in_window(grants, 1.0) == 5  # half rate while slowed down


async def test_repeated_throttles_escalate_and_success_resets():
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    assert [limiter.throttled() for _ in range(3)] == [1.0, 2.0, 4.0]
    vt.now += 10
    limiter.succeeded()
    assert limiter.throttled() == 1.0


async def test_advertiser_throttle_pauses_only_that_advertiser():
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    start = vt.now
    limiter.advertiser_throttled("A", pause=5.0)
    await limiter.acquire("B")
    assert vt.now == start
    await limiter.acquire("A")
    assert vt.now >= start + 5.0


async def test_callers_are_served_in_arrival_order():
    vt = VirtualTime()
    limiter = RateLimiter(2, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    order: list[int] = []

    async def caller(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    await asyncio.gather(*(caller(i) for i in range(8)))
    assert order == list(range(8))


@settings(max_examples=40, deadline=None)
@given(
    qps=st.integers(min_value=1, max_value=20),
    callers=st.integers(min_value=1, max_value=30),
    per_caller=st.integers(min_value=1, max_value=4),
    margin=st.sampled_from([0.0, 0.05]),
)
def test_windows_hold_for_any_load(qps: int, callers: int, per_caller: int, margin: float):
    vt = VirtualTime()
    limiter = RateLimiter(qps, margin=margin, clock=vt.clock, sleep=vt.sleep)
    grants = asyncio.run(grant_all(limiter, vt, callers, per_caller))
    assert len(grants) == callers * per_caller
    assert max_in_window(grants, 1.0 + margin) <= qps
    assert max_in_window(grants, 60.0 + margin) <= 60 * qps
