"""RateLimiter.room: whether polls beyond the schedule may spend budget now (monitor.pollsoon)."""

from __future__ import annotations

from limiter_time import VirtualTime

from monitor.tiktok.ratelimit import RateLimiter


async def test_room_needs_the_spare_share_of_the_minute_unused_and_no_throttle() -> None:
    vt = VirtualTime()
    limiter = RateLimiter(10, per_minute=20, clock=vt.clock, sleep=vt.sleep)
    assert limiter.room(0.3)
    for _ in range(14):  # 14 of 20 this minute: 30 % left
        await limiter.acquire()
    assert limiter.room(0.3)
    await limiter.acquire()  # 15: less than 30 % left
    assert not limiter.room(0.3)
    vt.now += 61  # the minute has passed
    assert limiter.room(0.3)
    grant = await limiter.acquire()
    limiter.throttled(grant)  # a 40100: paused, then half rate for a while
    assert not limiter.room(0.3)
    vt.now += limiter.first_pause + 0.01
    assert not limiter.room(0.3)  # the aftermath at half rate
    vt.now += limiter.slow_period + 1
    assert limiter.room(0.3)
