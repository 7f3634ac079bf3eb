"""A virtual clock for rate-limiter tests, and a way to take many grants at once (imported by bare name)."""

from __future__ import annotations

import asyncio

from monitor.tiktok.ratelimit import RateLimiter


class VirtualTime:
    """A monotonic clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def grant_all(limiter: RateLimiter, vt: VirtualTime, callers: int, per_caller: int) -> list[float]:
    grants: list[float] = []

    async def caller() -> None:
        for _ in range(per_caller):
            await limiter.acquire()
            grants.append(vt.now)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return grants
