"""Polls outside an advertiser's schedule: asked for by a REPORT_DATA_CHANGE notice (:mod:`monitor.webhook`) or
by adaptive polling (:mod:`monitor.adaptive`), and bounded here.

:func:`extra_poll_at` is the decision (pure, ``now`` passed in): when an extra poll may run, or None.
:class:`PollSoon` keeps what it needs per advertiser (when its last poll ended, when its last adaptive extra poll
was) and hands the poll to the scheduler at that time. The scheduler runs it like a due poll (under the lease;
one poll of an advertiser at a time: a poll already running gets exactly one more right after it, never two at
once), and :meth:`monitor.runtime.Runtime.poll` answers ``not_mine`` for an advertiser another replica owns;
PollSoon does not even ask for those, nor for advertisers this process does not watch.

Bounds, so that a flood of notices (or an account hovering at a threshold) cannot spend the API budget:

* never closer than ``floor`` after the advertiser's previous poll ended (an earlier wish waits for it);
* never when the scheduled poll comes within ``floor`` of that time anyway (it will do);
* adaptive polls: at most :data:`ADAPTIVE_PER_INTERVAL` per interval per advertiser (one to measure a pace that
  rose, one at the crossing it then projects: :mod:`monitor.pace`);
* only while the app's budget has room (:meth:`monitor.tiktok.ratelimit.RateLimiter.room`: this process's
  requests of the last minute leave at least :data:`SPARE` of the per-minute budget, and no throttle pause or
  half-rate aftermath is on, learnt from the shared budget too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.phases import next_poll_at
from monitor.polls import PollOutcome, PollResult

__all__ = ["ADAPTIVE", "ADAPTIVE_PER_INTERVAL", "SPARE", "WEBHOOK", "PollSoon", "Wish", "extra_poll_at"]

log = logging.getLogger(__name__)

ADAPTIVE, WEBHOOK = "adaptive", "webhook"
#: An extra poll needs at least this share of the per-minute API budget unused.
SPARE = 0.3
#: Adaptive extra polls of one advertiser within any one interval, at most.
ADAPTIVE_PER_INTERVAL = 2


@dataclass(frozen=True, slots=True)
class Wish:
    """An extra poll someone asks for: why (:data:`ADAPTIVE`, :data:`WEBHOOK`) and from when (None: now)."""

    reason: str
    at: datetime | None = None


def extra_poll_at(
    wish: Wish,
    now: datetime,
    *,
    next_scheduled: datetime,
    last_done: datetime | None,
    last_extras: Sequence[datetime],
    interval: timedelta,
    floor: timedelta,
    room: bool,
) -> datetime | None:
    """When the extra poll ``wish`` asks for may run (``now`` or later), or None when it should not: no budget
    room, an adaptive one when :data:`ADAPTIVE_PER_INTERVAL` adaptive ones (``last_extras``: when the earlier
    ones were set to run) fall within the last interval, or the scheduled poll comes about as soon."""
    if not room:
        return None
    if wish.reason == ADAPTIVE and sum(1 for t in last_extras if now - t < interval) >= ADAPTIVE_PER_INTERVAL:
        return None
    at = max(now, wish.at or now)
    if last_done is not None:
        at = max(at, last_done + floor)
    if at + floor > next_scheduled:
        return None
    return at


class PollSoon:
    """Asks the scheduler (``poll_now(advertiser_id)``) for extra polls within the bounds above.

    ``watched(advertiser_id)``: this process polls it and owns its shard; ``room()``: the API budget has room;
    ``interval()`` and ``floor()``: the poll interval and the least gap after a poll, as configured now;
    ``on_extra(reason)``: counts one (metrics). Feed it every poll's outcome (:meth:`poll_done`)."""

    def __init__(
        self,
        *,
        poll_now: Callable[[str], None],
        watched: Callable[[str], bool],
        room: Callable[[], bool],
        interval: Callable[[], timedelta],
        floor: Callable[[], timedelta],
        clock: Clock,
        on_extra: Callable[[str], None] | None = None,
    ) -> None:
        self._poll_now = poll_now
        self._watched = watched
        self._room = room
        self._interval = interval
        self._floor = floor
        self._clock = clock
        self._on_extra = on_extra
        self._last_done: dict[str, datetime] = {}
        self._last_extras: dict[str, list[datetime]] = {}  # adaptive ones, the last ADAPTIVE_PER_INTERVAL
        self._waiting: dict[str, asyncio.TimerHandle] = {}  # an extra poll set for later, one per advertiser

    def poll_done(self, outcome: PollOutcome) -> None:
        """A poll of the advertiser ended (a listener of the scheduler)."""
        if outcome.result is not PollResult.NOT_MINE:
            self._last_done[outcome.advertiser_id] = self._clock.now()

    def ask(self, advertiser_id: str, wish: Wish) -> datetime | None:
        """Ask for an extra poll; returns when it will run, or None when it will not (it is logged)."""
        if not self._watched(advertiser_id):
            log.debug("extra poll of advertiser %s (%s) not asked: not polled here", advertiser_id, wish.reason)
            return None
        if advertiser_id in self._waiting:
            return None  # one extra poll set already
        now = self._clock.now()
        interval = self._interval()
        at = extra_poll_at(
            wish,
            now,
            next_scheduled=next_poll_at(advertiser_id, interval, now),
            last_done=self._last_done.get(advertiser_id),
            last_extras=self._last_extras.get(advertiser_id, ()),
            interval=interval,
            floor=self._floor(),
            room=self._room(),
        )
        if at is None:
            log.debug("no extra poll of advertiser %s (%s): not within the bounds", advertiser_id, wish.reason)
            return None
        if wish.reason == ADAPTIVE:
            extras = self._last_extras.setdefault(advertiser_id, [])
            extras.append(at)
            del extras[:-ADAPTIVE_PER_INTERVAL]
        delay = max(0.0, (at - now).total_seconds())
        log.info("extra poll of advertiser %s (%s) in %.1fs", advertiser_id, wish.reason, delay)
        handle = asyncio.get_running_loop().call_later(delay, self._fire, advertiser_id, wish.reason)
        self._waiting[advertiser_id] = handle
        return at

    def _fire(self, advertiser_id: str, reason: str) -> None:
        self._waiting.pop(advertiser_id, None)
        if self._on_extra is not None:
            self._on_extra(reason)
        self._poll_now(advertiser_id)

    def close(self) -> None:
        """Forget the extra polls set for later (shutdown)."""
        for handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
