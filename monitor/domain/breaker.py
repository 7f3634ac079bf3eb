"""The actions' circuit breaker: one episode of it, and what it means at a given moment. Pure.

The breaker is fleet-wide: every advertiser, every process and every replica sharing the database count their
real writes together (the journal's entries of the last ``window``). When a write would take that count past
``max_writes``, the breaker *opens*: an episode begins, and every later action is held back until a person runs
``tiktok-monitor actions resume`` (the episode is closed by them) or ``breaker_reset`` has passed since it opened
(closed by :data:`BY_RESET`). Writes made before the newest episode closed no longer count: after a resume, the
monitor may write again at once.

The store keeps one row per episode (the breaker's own journal: when, why, what was held back, whether people
were told, who closed it); the newest one is the breaker's state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.values import aware

#: Who closed an episode that ran out (``[actions] breaker_reset`` passed since it opened).
BY_RESET = "breaker_reset"
#: How many held-back actions an episode lists (the count goes on).
HELD_LIST_LIMIT = 50


@dataclass(frozen=True)
class BreakerEpisode:
    """One opening of the breaker: ``opened_at`` and why (``reason``), the actions it held back (``held``, at most
    :data:`HELD_LIST_LIMIT` of them listed, ``held_count`` in all), when people were told (``told_at``), and
    when and by whom it was closed (None: it is open, unless ``breaker_reset`` ran out: see :meth:`as_of`). ``id``
    is the store's."""

    opened_at: datetime
    reason: str
    held: tuple[str, ...] = ()
    held_count: int = 0
    told_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    id: int | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        aware(self.opened_at, "opened_at")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def closes_at(self, reset: timedelta) -> datetime:
        """When it closes by itself."""
        return self.opened_at + reset

    def as_of(self, now: datetime, reset: timedelta) -> BreakerEpisode:
        """The episode as it stands at ``now``: closed by :data:`BY_RESET` at ``opened_at + reset`` once that has
        passed."""
        if self.is_open and now >= self.closes_at(reset):
            return dataclasses.replace(self, closed_at=self.closes_at(reset), closed_by=BY_RESET)
        return self

    def holding(self, more: tuple[str, ...]) -> BreakerEpisode:
        """With ``more`` held-back actions (listed up to :data:`HELD_LIST_LIMIT`)."""
        listed = (self.held + more)[:HELD_LIST_LIMIT]
        return dataclasses.replace(self, held=listed, held_count=self.held_count + len(more))


def counted_from(newest: BreakerEpisode | None, now: datetime, window: timedelta) -> datetime:
    """Writes from this moment on count: the start of the rolling window, or when the newest episode closed if
    that is later (a resume starts the count afresh)."""
    start = now - window
    if newest is not None and newest.closed_at is not None and newest.closed_at > start:
        return newest.closed_at
    return start
