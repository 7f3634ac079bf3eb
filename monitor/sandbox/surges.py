"""Injected spend: a lump an ad spends at one instant (``POST /sandbox/spend``), for latency benchmarks and tests
that need an overspend at a moment of their choosing.

A surge is outside the delivery model (:mod:`monitor.sandbox.ledger`): reports add it to the ad's spend (and the
impressions, clicks and conversions derived from spend) in every window that contains its instant, so the ad's ad
group, campaign and advertiser rows show it too, but budgets do not cap it and secondary statuses ignore it: it
stands for the spend TikTok reports late or beyond a cap, the overspend a monitor exists to catch.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left


class Surges:
    """Lumps of spend per ad, in time order. Thread-safe: reports read it from the sandbox's worker thread."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}
        self._sums: dict[str, list[float]] = {}  # running totals, one per time
        self._lock = threading.Lock()

    def add(self, ad_id: str, amount: float, at: float) -> None:
        """``ad_id`` spends ``amount`` (> 0) at epoch second ``at`` (not before its latest surge)."""
        if not (math.isfinite(amount) and amount > 0):
            raise ValueError("amount must be a positive number")
        with self._lock:
            times = self._times.setdefault(ad_id, [])
            sums = self._sums.setdefault(ad_id, [])
            if times and at < times[-1]:
                raise ValueError("surges are added in time order")
            times.append(at)
            sums.append((sums[-1] if sums else 0.0) + amount)

    def before(self, ad_id: str, t: float) -> float:
        """What ``ad_id`` spent in surges strictly before ``t`` (0 without surges)."""
        times = self._times.get(ad_id)
        if not times:
            return 0.0
        with self._lock:
            count = bisect_left(times, t)  # surges at times < t
            return self._sums[ad_id][count - 1] if count else 0.0

    def __bool__(self) -> bool:
        return bool(self._times)
