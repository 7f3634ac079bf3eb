"""The sandbox counts a request when it arrived, as TikTok does, not when its handler ran: a busy sandbox (or one
sharing a test's event loop) must not see a burst no client sent."""

from __future__ import annotations

from monitor.sandbox.ratelimit import RateLimiter


def test_requests_are_counted_by_arrival_even_when_handled_out_of_order() -> None:
    handled_at = [5.0]  # the handlers all run late, at 5.0
    limiter = RateLimiter(2, 100, monotonic=lambda: handled_at[0])
    assert limiter.try_acquire(at=1.5)  # handled first, arrived last
    assert limiter.try_acquire(at=0.2)
    assert limiter.try_acquire(at=1.1)  # (0.1, 1.1] holds one request (0.2): 1.5 had not arrived yet
    assert not limiter.try_acquire(at=1.15)  # (0.15, 1.15] holds 0.2 and 1.1: the third in a second is refused
    assert limiter.try_acquire(at=2.2)  # (1.2, 2.2] holds 1.5 only
    assert limiter.allows()  # at the handlers' own time (5.0) nothing arrived within the second before
