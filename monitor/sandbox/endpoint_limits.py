"""Per-endpoint limits of the app (tiktok-api.md §12): ``report/task/create/`` takes at most 2 requests a second
and 60 a minute at every tier, past which TikTok answers code 40016 (the app's limit on one endpoint), whatever
the app-wide budget (40100) still allows. Sliding windows on real monotonic time, as the app-wide limiter's."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from monitor.sandbox.ratelimit import RateLimiter

#: path -> (QPS, QPM)
ENDPOINT_LIMITS: Mapping[str, tuple[int, int]] = {"report/task/create/": (2, 60)}
ENDPOINT_RATE_LIMITED = 40016


class EndpointLimits:
    """One sliding-window limiter per limited endpoint."""

    def __init__(
        self, limits: Mapping[str, tuple[int, int]] = ENDPOINT_LIMITS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._limiters = {path: RateLimiter(qps, qpm, monotonic) for path, (qps, qpm) in limits.items()}
        self._limits = dict(limits)

    def try_acquire(self, path: str) -> bool:
        """Count one request to ``path`` if its limit allows it (always, for an endpoint without one)."""
        limiter = self._limiters.get(path)
        return limiter is None or limiter.try_acquire()

    def describe(self, path: str) -> str:
        qps, qpm = self._limits[path]
        return f"{qps} QPS / {qpm} QPM"

    def reset(self) -> None:
        for limiter in self._limiters.values():
            limiter.reset()
