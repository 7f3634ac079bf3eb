"""Endpoints with a budget of their own inside the app's: requests to them are spaced before they are sent.

TikTok limits some endpoints per app on top of the app-wide budget, at every tier, and answers a breach with
**40016** (tiktok-api.md §7.2, §12): ``report/task/create/`` takes 2 requests a second and 60 a minute by one
source, 1 a second by another ("sources disagree; design for <= 1 QPS"). The limiter used to find this out from
the server: four ad-level report tasks created together drew two 40016 answers, each a retry and a pause of that
endpoint. :class:`EndpointWindows` keeps the same sliding windows as the app's (:class:`SendWindow`, sends
counted when they leave) per such endpoint, so :class:`~monitor.tiktok.ratelimit.RateLimiter` holds a request
back until its endpoint has room, and the 40016 pause stays for what this process cannot see (another process or
tool creating tasks with the same app).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from monitor.tiktok.sendwindow import SendWindow, Slot

__all__ = ["ENDPOINT_BUDGETS", "EndpointWindows"]

#: API path (as the transport names it) -> (requests per second, requests per minute): the lower of the
#: sources' figures (tiktok-api.md §7.2).
ENDPOINT_BUDGETS: Mapping[str, tuple[int, int]] = {"report/task/create/": (1, 60)}


class EndpointWindows:
    """The last second's and minute's requests of each endpoint in ``budgets``, each window ``margin`` longer
    (as the app's: requests granted exactly a window apart can arrive closer together)."""

    def __init__(self, budgets: Mapping[str, tuple[int, int]], margin: float) -> None:
        for path, (qps, per_minute) in budgets.items():
            if qps < 1 or per_minute < 1:
                raise ValueError(f"endpoint budget of {path} must allow at least 1 request a second and a minute")
        self._windows = {
            path: (qps, per_minute, SendWindow(1.0 + margin), SendWindow(60.0 + margin))
            for path, (qps, per_minute) in budgets.items()
        }
        self._turns = {path: asyncio.Lock() for path in budgets}

    def turn(self, endpoint: str | None) -> asyncio.Lock | None:
        """The lock an endpoint's callers take in turn (None: no budget of its own). Without it, callers that
        found room at once would all join the limiter's queue, all but one find the endpoint full there and
        queue again behind everything that came meanwhile, out of their order."""
        return None if endpoint is None else self._turns.get(endpoint)

    def wait(self, endpoint: str | None, now: float) -> float:
        """Seconds until one more request to ``endpoint`` fits its windows (0: now, or it has no budget)."""
        windows = None if endpoint is None else self._windows.get(endpoint)
        if windows is None:
            return 0.0
        qps, per_minute, second, minute = windows
        return max(second.wait(qps, now), minute.wait(per_minute, now))

    def add(self, endpoint: str | None, slot: Slot) -> None:
        """Count the request of ``slot`` (granted now) in its endpoint's windows, if it has a budget."""
        windows = None if endpoint is None else self._windows.get(endpoint)
        if windows is not None:
            windows[2].add(slot)
            windows[3].add(slot)
