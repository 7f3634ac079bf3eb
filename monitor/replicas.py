"""This replica's part of the fleet: its heartbeat, and which advertisers it polls (see monitor.store.shards).

:class:`Replicas` beats at start (before the first poll) and then every ``beat``; each beat renews this replica's
heartbeat and rebalances (releases shards beyond its fair share, claims free ones and those of dead replicas). Its
view of the assignment is what :meth:`owns` and :meth:`fence_of` answer from, between beats:

* :meth:`Runtime.poll <monitor.runtime.Runtime.poll>` polls only the advertisers of shards it owns; the others come
  back ``not_mine`` (not a failure, not in ``/healthz``'s degraded list);
* each poll carries a :class:`~monitor.store.shards.Fence` (shard, owner, epoch) that its begin and commit check.

A beat that fails (the database is unreachable) keeps the last view for one TTL (the fence refuses the commits
of shards another replica claimed meanwhile); once the last good beat is older than the TTL, the others take this
replica for dead and claim its shards, so it polls nothing until a beat works again. A clean stop
(:meth:`leave`) releases every shard at once, so the others claim them at their next beat instead of after the TTL.
One replica alone owns every shard: it behaves as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

from monitor.clock import Clock
from monitor.store.shards import SHARD_COUNT, Assignment, Fence, Shards, shard_of

log = logging.getLogger(__name__)

#: Gets each beat's assignment.
AssignmentListener = Callable[[Assignment], None]


class Replicas:
    """``replica`` (its id, ``<host>:<pid>``) beating every ``beat``, dead to the others after ``ttl``. ``busy()``
    names the advertisers being polled now (their shards are not released until the poll ended)."""

    def __init__(
        self,
        shards: Shards,
        replica: str,
        clock: Clock,
        *,
        beat: timedelta,
        ttl: timedelta,
        busy: Callable[[], Iterable[str]] = frozenset,
        on_assignment: Sequence[AssignmentListener] = (),
    ) -> None:
        self._shards = shards
        self.replica = replica
        self._clock = clock
        self.beat_period = beat
        self.ttl = ttl
        self._busy = busy
        self._listeners = list(on_assignment)
        self.assignment = Assignment(replica, (replica,))
        self._failing = False
        self._beaten_at: float | None = None  # monotonic time of the last good beat

    def owns(self, advertiser_id: str) -> bool:
        """Whether this replica polls the advertiser (its shard is ours, as of the last beat, and that beat is
        younger than the TTL)."""
        return self.fence_of(advertiser_id) is not None

    def fence_of(self, advertiser_id: str) -> Fence | None:
        if self._beaten_at is None or self._clock.monotonic() - self._beaten_at > self.ttl.total_seconds():
            return None  # the others take us for dead by now: their shards, not ours
        return self.assignment.fence_of(advertiser_id)

    @property
    def owned_shards(self) -> int:
        return len(self.assignment.mine)

    async def beat(self) -> Assignment:
        """One heartbeat and rebalance; raises what the store raises."""
        keep = {shard_of(advertiser_id) for advertiser_id in self._busy()}
        started = self._clock.monotonic()
        assignment = await self._shards.beat(self.replica, self._clock.now(), self.ttl, keep=keep)
        self.assignment, self._beaten_at = assignment, started
        for listener in self._listeners:
            try:
                listener(assignment)
            except Exception:
                log.exception("assignment listener %r failed", listener)
        return assignment

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every ``beat`` until ``stop``; a failed beat is logged once per streak and tried again."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.beat_period.total_seconds())
            if stop.is_set():
                return
            try:
                await self.beat()
            except Exception as exc:
                if not self._failing:
                    log.warning("replica %s: heartbeat failed (keeping shards as last seen): %s", self.replica, exc)
                self._failing = True
                continue
            if self._failing:
                log.info("replica %s: heartbeat works again", self.replica)
            self._failing = False

    async def leave(self) -> None:
        """Release every shard and forget this replica (a clean stop)."""
        released = await self._shards.leave(self.replica, self._clock.now())
        self.assignment, self._beaten_at = Assignment(self.replica, ()), None
        log.info("replica %s left: released %d of %d shards", self.replica, len(released), SHARD_COUNT)
