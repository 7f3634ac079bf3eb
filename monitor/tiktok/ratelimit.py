"""The app-wide request budget: one limiter shared by every request the process makes.

TikTok limits a developer app as a whole (Basic tier: 10 QPS *and* 600 QPM), plus each advertiser per
endpoint (code 40133). It sends no Retry-After header, so the only safe strategy is to never exceed the
budget ourselves and to back off for everyone when TikTok says we did (another process may share the app).

Why not aiolimiter or a token bucket: a bucket allows a burst of ``capacity`` right after an idle period,
which the server's sliding windows count as one second; we need a hard "never more than N in any window"
over two windows at once, plus a global pause. Sliding-window logs of grant times give exactly that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: Extra spacing added to each window. Requests granted exactly one second apart can arrive at the server
#: closer together (scheduling, connection reuse); a small margin keeps its sliding window satisfied.
DEFAULT_MARGIN = 0.1
#: After an app-level throttle the first pause is this long, doubling per consecutive throttle ...
FIRST_PAUSE = 1.0
#: ... up to this (TikTok's guidance: a QPM breach needs about five minutes).
MAX_PAUSE = 300.0
#: How long the halved rate lasts after a throttle before the full budget is used again.
SLOW_PERIOD = 60.0


class RateLimiter:
    """Grants at most ``max_qps`` requests in any second and ``per_minute`` in any minute, whatever the
    number of concurrent callers, in arrival order.

    ``throttled()`` (after code 40100) pauses every caller and halves the rate for a while;
    ``advertiser_throttled(id)`` (after 40133) pauses only requests for that advertiser.
    ``clock`` and ``sleep`` are injectable so tests can drive time.
    """

    def __init__(
        self,
        max_qps: int,
        *,
        per_minute: int | None = None,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_qps < 1:
            raise ValueError("max_qps must be at least 1")
        self.max_qps = max_qps
        self.per_minute = per_minute if per_minute is not None else 60 * max_qps
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self._slow_until = 0.0
        self._next_pause = FIRST_PAUSE
        self._advertiser_paused_until: dict[str, float] = {}
        self.granted = 0
        self.throttles = 0

    def _current_qps(self, now: float) -> int:
        return max(1, self.max_qps // 2) if now < self._slow_until else self.max_qps

    def _wait_needed(self, now: float) -> float:
        """Seconds until one more grant fits every window (0 when it fits now)."""
        window_1s, window_60s = 1.0 + self._margin, 60.0 + self._margin
        while self._second and self._second[0] <= now - window_1s:
            self._second.popleft()
        while self._minute and self._minute[0] <= now - window_60s:
            self._minute.popleft()
        wait = max(0.0, self._paused_until - now)
        qps = self._current_qps(now)
        if len(self._second) >= qps:
            wait = max(wait, self._second[-qps] + window_1s - now)
        if len(self._minute) >= self.per_minute:
            wait = max(wait, self._minute[-self.per_minute] + window_60s - now)
        return wait

    async def acquire(self, advertiser_id: str | None = None) -> None:
        """Wait until a request may be sent, then count it as sent."""
        if advertiser_id is not None:
            while (wait := self._advertiser_paused_until.get(advertiser_id, 0.0) - self._clock()) > 0:
                await self._sleep(wait)
        async with self._lock:  # FIFO: callers are granted in the order they asked
            while (wait := self._wait_needed(self._clock())) > 0:
                await self._sleep(wait)
            now = self._clock()
            self._second.append(now)
            self._minute.append(now)
            self.granted += 1

    def throttled(self) -> float:
        """TikTok answered 40100: pause everyone, escalating on repeats; returns the pause in seconds."""
        now = self._clock()
        pause = self._next_pause
        self._paused_until = max(self._paused_until, now + pause)
        self._slow_until = now + pause + SLOW_PERIOD
        self._next_pause = min(MAX_PAUSE, pause * 2)
        self.throttles += 1
        log.warning("TikTok rate-limited the app: pausing all requests for %.0fs, then half rate", pause)
        return pause

    def advertiser_throttled(self, advertiser_id: str, pause: float = FIRST_PAUSE) -> None:
        """TikTok answered 40133 for one advertiser: pause only its requests."""
        until = self._clock() + pause
        self._advertiser_paused_until[advertiser_id] = max(self._advertiser_paused_until.get(advertiser_id, 0.0), until)
        self.throttles += 1

    def succeeded(self) -> None:
        """A request went through: the next throttle starts again from the first pause length."""
        if self._clock() >= self._paused_until:
            self._next_pause = FIRST_PAUSE
