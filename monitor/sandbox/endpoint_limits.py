"""Per-endpoint rate limits TikTok enforces on top of the app-wide one (tiktok-api.md §8.1, §12): at every tier
``report/task/create/`` takes at most 2 requests a second and 60 a minute per app. A breach answers code
**40016** (HTTP 200), which the monitor's client treats as an endpoint-scoped rate limit.

Like :class:`RateLimiter`, it runs on real monotonic time and refused requests are not counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from monitor.sandbox.ratelimit import RateLimiter

ENDPOINT_RATE_LIMITED = 40016
#: API path (relative to /open_api/v1.3/) -> (QPS, QPM).
ENDPOINT_LIMITS: dict[str, tuple[int, int]] = {"report/task/create/": (2, 60)}


class EndpointLimits:
    """One sliding-window limiter per limited endpoint."""

    def __init__(
        self, limits: dict[str, tuple[int, int]] | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        chosen = ENDPOINT_LIMITS if limits is None else limits
        self._limiters = {path: RateLimiter(qps, qpm, monotonic) for path, (qps, qpm) in chosen.items()}

    def allows(self, path: str) -> bool:
        limiter = self._limiters.get(path)
        return limiter is None or limiter.allows()

    def acquire(self, path: str) -> None:
        limiter = self._limiters.get(path)
        if limiter is not None:
            limiter.try_acquire()

    def message(self, path: str, app_id: str) -> str:
        limiter = self._limiters[path]
        return (
            f"Too many requests to /open_api/v1.3/{path}: app [{app_id}] exceeded the endpoint's limit of "
            f"{limiter.qps} QPS / {limiter.qpm} QPM."
        )

    def reset(self) -> None:
        for limiter in self._limiters.values():
            limiter.reset()
