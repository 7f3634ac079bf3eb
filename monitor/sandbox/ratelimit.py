"""The app-wide rate limit TikTok enforces (tiktok-api.md §8.1): at most ``qps`` accepted requests in any
sliding one-second window and ``qpm`` in any sixty-second window. Refused requests are not counted.

It runs on real monotonic time (not the world clock), because clients throttle in real time. The server passes
each request's arrival time (``at``): a request is counted when it arrived, as TikTok counts it, not when this
process got round to its handler (a busy sandbox would otherwise see bursts no client sent).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, qps: int, qpm: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.qpm = qpm
        self._monotonic = monotonic
        self._times: list[float] = []  # accepted requests' arrival times, sorted (handlers may run out of order)

    def allows(self, at: float | None = None) -> bool:
        """Whether one more request (arrived ``at``, default now) fits the budget (nothing is counted): the
        requests that arrived in the second and the minute up to it."""
        now = self._monotonic() if at is None else at
        self._forget(now)
        upto = bisect.bisect_right(self._times, now)
        in_second = upto - bisect.bisect_right(self._times, now - 1.0)
        in_minute = upto - bisect.bisect_right(self._times, now - 60.0)
        return in_second < self.qps and in_minute < self.qpm

    def try_acquire(self, at: float | None = None) -> bool:
        """Count one request (arrived ``at``, default now) if the budget allows it; False means answer 40100."""
        if not self.allows(at):
            return False
        bisect.insort(self._times, self._monotonic() if at is None else at)
        return True

    def _forget(self, now: float) -> None:
        """Drop what no window can count any more (older than a minute and a little before ``now``)."""
        keep = bisect.bisect_right(self._times, now - 61.0)
        if keep:
            del self._times[:keep]

    def reset(self) -> None:
        self._times.clear()
