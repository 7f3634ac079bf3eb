"""The limiter counts a held grant from when it was sent (issue 18): a request held back after its grant must
not let later grants crowd the second it actually leaves in."""

from __future__ import annotations

import asyncio

from limiter_time import VirtualTime

from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.sendwindow import SEND_POLL, SendWindow, Slot


async def test_a_request_sent_late_counts_from_its_send():
    vt = VirtualTime()
    limiter = RateLimiter(2, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    first = [await limiter.acquire(hold=True) for _ in range(2)]  # granted at 1000.0 ...
    vt.now += 0.7
    for grant in first:  # ... and written 0.7 s later (the event loop was busy)
        limiter.sent(grant)
    await limiter.acquire()
    assert vt.now >= 1001.7  # a second after they left, not after they were granted


async def test_pending_grants_fill_the_window_until_they_are_sent():
    vt = VirtualTime()
    limiter = RateLimiter(2, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    held = [await limiter.acquire(hold=True) for _ in range(2)]
    waiting = asyncio.ensure_future(limiter.acquire())
    for _ in range(400):  # two seconds of SEND_POLL: still pending, so no room
        await asyncio.sleep(0)
    assert not waiting.done()
    assert vt.now > 1001.0
    for grant in held:
        limiter.sent(grant)
    sent_at = vt.now
    await waiting
    assert vt.now >= sent_at + 1.0


def test_the_wait_is_until_enough_sent_slots_leave_the_window():
    window = SendWindow(1.0)
    for at in (10.0, 10.2, 10.4):
        window.add(Slot(at))
    pending = Slot(10.5, pending=True)
    window.add(pending)
    assert window.used(10.6) == 4
    assert window.wait(4, 10.6) == 10.0 + 1.0 - 10.6  # the oldest sent slot leaves first
    assert window.wait(2, 10.6) == 10.4 + 1.0 - 10.6  # one pending: all three sent ones must leave
    assert window.wait(1, 10.6) == SEND_POLL  # the pending one alone fills it: only its send makes room
    pending.sent(10.9)
    assert window.wait(1, 11.5) == 10.9 + 1.0 - 11.5
    assert window.wait(1, 12.0) == 0.0
