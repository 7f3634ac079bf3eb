"""The app-wide rate limit TikTok enforces (tiktok-api.md §8.1): at most ``qps`` accepted requests in any
sliding one-second window and ``qpm`` in any sixty-second window. Refused requests are not counted.

It runs on real monotonic time (not the world clock), because clients throttle in real time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, qps: int, qpm: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.qpm = qpm
        self._monotonic = monotonic
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()

    def allows(self) -> bool:
        """Whether one more request fits the budget now (nothing is counted)."""
        now = self._monotonic()
        while self._second and self._second[0] <= now - 1.0:
            self._second.popleft()
        while self._minute and self._minute[0] <= now - 60.0:
            self._minute.popleft()
        return len(self._second) < self.qps and len(self._minute) < self.qpm

    def try_acquire(self) -> bool:
        """Count one request if the budget allows it; False means answer 40100."""
        if not self.allows():
            return False
        now = self._monotonic()
        self._second.append(now)
        self._minute.append(now)
        return True

    def reset(self) -> None:
        self._second.clear()
        self._minute.clear()
