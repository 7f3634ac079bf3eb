"""Sorted, disjoint half-open intervals with O(log n) measure queries (used in F-space by the ledger)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

_TOUCH = 1e-6  # intervals closer than this are merged (F-space seconds)


class IntervalSet:
    """Intervals appended in increasing order. ``measure(a, b)`` = length of the set inside [a, b)."""

    __slots__ = ("_ends", "_prefix", "_starts")

    def __init__(self, intervals: Iterable[tuple[float, float]] = ()) -> None:
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._prefix: list[float] = []  # total length of the intervals before index i
        for a, b in intervals:
            self.append(a, b)

    def append(self, a: float, b: float) -> None:
        """Add [a, b), which must not start before the last interval's start."""
        if b <= a:
            return
        if self._starts and a < self._starts[-1]:
            raise ValueError("intervals must be appended in order")
        if self._ends and a <= self._ends[-1] + _TOUCH:
            if b > self._ends[-1]:
                self._ends[-1] = b
            return
        self._prefix.append(self._prefix[-1] + (self._ends[-1] - self._starts[-1]) if self._starts else 0.0)
        self._starts.append(a)
        self._ends.append(b)

    def copy(self) -> IntervalSet:
        other = IntervalSet()
        other._starts = self._starts.copy()
        other._ends = self._ends.copy()
        other._prefix = self._prefix.copy()
        return other

    def upto(self, x: float) -> float:
        """Length of the set inside (-inf, x)."""
        i = bisect_right(self._starts, x) - 1
        if i < 0:
            return 0.0
        return self._prefix[i] + (min(x, self._ends[i]) - self._starts[i])

    def measure(self, a: float, b: float) -> float:
        """Length of the set inside [a, b)."""
        if b <= a:
            return 0.0
        return self.upto(b) - self.upto(a)

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return iter(zip(self._starts, self._ends, strict=True))

    def __len__(self) -> int:
        return len(self._starts)

    def __repr__(self) -> str:
        return f"IntervalSet({list(self)!r})"
