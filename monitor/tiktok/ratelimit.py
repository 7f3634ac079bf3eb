"""The app-wide request budget: one limiter shared by every request the process makes.

TikTok limits a developer app as a whole (Basic tier: 10 QPS *and* 600 QPM), an app on some endpoints
(code 40016), and each advertiser per endpoint (code 40133). It sends no Retry-After header, so the only safe
strategy is to never exceed the budget ourselves and to back off when TikTok says we did (another process may
share the app: ``once`` beside ``run``, another tool).

Why not aiolimiter or a token bucket: a bucket allows a burst of ``capacity`` right after an idle period,
which the server's sliding windows count as one second; we need a hard "never more than N in any window"
over two windows at once, plus pauses. Sliding-window logs of grant times give exactly that
(:mod:`monitor.tiktok.sendwindow`, counted by send time; endpoints with a budget of their own:
:mod:`monitor.tiktok.endpoint_budget`).

The limiter's parts: :mod:`monitor.tiktok.throttle` (what a throttled answer does: one pause per throttle episode,
per scope: the app, an endpoint, an advertiser) and :mod:`monitor.tiktok.shared_budget` (several processes, one
app: the tokens of the budget shared through the database). Every line they log goes to this module's logger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from monitor.tiktok.endpoint_budget import ENDPOINT_BUDGETS, EndpointWindows
from monitor.tiktok.sendwindow import SendWindow, Slot
from monitor.tiktok.shared_budget import FleetTokens, SharedBudget
from monitor.tiktok.throttle import FIRST_PAUSE, MAX_PAUSE, SLOW_PERIOD, Throttling

#: Extra spacing added to each window. Requests granted exactly one second apart can arrive at the server
#: closer together (scheduling, connection reuse); a small margin keeps its sliding window satisfied.
DEFAULT_MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class Grant:
    """The permission to send one request, from :meth:`RateLimiter.acquire`. Hand it back with the answer
    when it is throttled (:meth:`RateLimiter.throttled`). ``seq`` numbers grants in order; ``slot`` is its
    place in the windows (pending until :meth:`RateLimiter.sent` when acquired with ``hold``)."""

    seq: int
    advertiser_id: str | None = None
    endpoint: str | None = None
    slot: Slot | None = field(default=None, compare=False, repr=False)


class RateLimiter:
    """Grants at most ``max_qps`` requests in any second and ``per_minute`` in any minute, whatever the
    number of concurrent callers, in arrival order.

    ``throttled(grant, scope)`` pauses the scope's requests (see :mod:`monitor.tiktok.throttle`): the app's (40100;
    the rate is halved until ``slow_period`` after the pause), one endpoint's (40016) or one advertiser's (40133).
    ``clock`` and ``sleep`` are injectable so tests can drive time. ``on_throttle(scope)`` is called for every
    throttled answer and, with scope ``local``, whenever a request had to wait for the budget;
    ``on_episode(scope)`` when an episode begins (the metrics hooks). ``shared`` makes it spend the budget of
    the whole app with other processes (see :mod:`monitor.tiktok.shared_budget`); ``leases`` counts its leases.
    ``endpoint_budgets`` (path -> requests per second, per minute): endpoints TikTok limits on their own, whose
    requests also wait for room in their endpoint's windows (:mod:`monitor.tiktok.endpoint_budget`; a 40016 still
    pauses the endpoint for what this process cannot see).
    """

    def __init__(
        self,
        max_qps: int,
        *,
        per_minute: int | None = None,
        margin: float = DEFAULT_MARGIN,
        first_pause: float = FIRST_PAUSE,
        max_pause: float = MAX_PAUSE,
        slow_period: float = SLOW_PERIOD,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_throttle: Callable[[str], None] | None = None,
        on_episode: Callable[[str], None] | None = None,
        shared: SharedBudget | None = None,
        batch_max: int | None = None,
        endpoint_budgets: Mapping[str, tuple[int, int]] = ENDPOINT_BUDGETS,
    ) -> None:
        if max_qps < 1:
            raise ValueError("max_qps must be at least 1")
        if not (first_pause > 0 and max_pause > 0 and slow_period >= 0):
            raise ValueError("pauses must be positive and slow_period not negative")
        self.max_qps = max_qps
        self.per_minute = per_minute if per_minute is not None else 60 * max_qps
        self._clock = clock
        self._sleep = sleep
        self._on_throttle = on_throttle
        self._second = SendWindow(1.0 + margin)
        self._minute = SendWindow(60.0 + margin)
        self._endpoint_windows = EndpointWindows(endpoint_budgets, margin)
        self._lock = asyncio.Lock()
        #: the throttles of the app, its endpoints and advertisers (pauses, episodes and their counts)
        self.throttling = Throttling(
            max_qps,
            first_pause=first_pause,
            max_pause=max_pause,
            slow_period=slow_period,
            clock=clock,
            on_throttle=on_throttle,
            on_episode=on_episode,
            on_app_pause=self._publish,
        )
        self.granted = 0
        self.batch_max = batch_max if batch_max is not None else max(1, max_qps // 2)
        self._fleet: FleetTokens | None = None
        if shared is not None:
            self._fleet = FleetTokens(
                shared,
                batch_max=self.batch_max,
                per_minute=self.per_minute,
                margin=margin,
                second=self._second,
                minute=self._minute,
                throttling=self.throttling,
                clock=clock,
                sleep=sleep,
            )
        self._waiting = 0  # callers in acquire

    @property
    def first_pause(self) -> float:
        return self.throttling.first_pause

    @property
    def max_pause(self) -> float:
        return self.throttling.max_pause

    @property
    def slow_period(self) -> float:
        return self.throttling.slow_period

    @property
    def throttles(self) -> int:
        """Throttled answers, every scope."""
        return self.throttling.throttles

    @property
    def episodes(self) -> int:
        """Throttle episodes begun, every scope."""
        return self.throttling.episodes

    @property
    def pauses(self) -> int:
        """Pauses made, every scope."""
        return self.throttling.pauses

    @property
    def longest_pause(self) -> float:
        return self.throttling.longest_pause

    @property
    def leases(self) -> int:
        """Leases of the shared budget (0 without one)."""
        return 0 if self._fleet is None else self._fleet.leases

    # --- granting ---------------------------------------------------------------------------------------------

    def _wait_needed(self, now: float) -> float:
        """Seconds until one more grant fits every window and the app is not paused (0 when it fits now)."""
        wait = self.throttling.app_wait(now)
        return max(wait, self._second.wait(self.throttling.qps(now), now), self._minute.wait(self.per_minute, now))

    def _scoped_wait(self, advertiser_id: str | None, endpoint: str | None, now: float) -> float:
        """Seconds until neither the advertiser nor the endpoint is paused, and the endpoint's own budget (if it
        has one: :mod:`monitor.tiktok.endpoint_budget`) has room."""
        return max(
            self._endpoint_windows.wait(endpoint, now), self.throttling.scoped_wait(advertiser_id, endpoint, now)
        )

    async def acquire(
        self, advertiser_id: str | None = None, endpoint: str | None = None, *, hold: bool = False
    ) -> Grant:
        """Wait until a request (for ``advertiser_id``, to ``endpoint``) may be sent and return its
        :class:`Grant`. It counts as sent now, unless ``hold``: then it counts as pending (in every window)
        until :meth:`sent` says when it left, and from then on by that time (see
        :mod:`monitor.tiktok.sendwindow`). Whoever holds must call :meth:`sent` once the request was written,
        or failed without being written."""
        turn = self._endpoint_windows.turn(endpoint)
        if turn is None:
            return await self._counted(advertiser_id, endpoint, hold)
        async with turn:  # an endpoint with a budget of its own: its callers one at a time, in the order they asked
            return await self._counted(advertiser_id, endpoint, hold)

    async def _counted(self, advertiser_id: str | None, endpoint: str | None, hold: bool) -> Grant:
        self._waiting += 1
        try:
            return await self._acquire(advertiser_id, endpoint, hold)
        finally:
            self._waiting -= 1

    def sent(self, grant: Grant) -> None:
        """The request of ``grant`` (acquired with ``hold``) left now: the windows count it from now on."""
        if grant.slot is not None:
            grant.slot.sent(self._clock())

    async def _acquire(self, advertiser_id: str | None, endpoint: str | None, hold: bool) -> Grant:
        waited = False
        while True:
            # an advertiser's or endpoint's pause holds up only its own requests: waited for outside the queue
            while (wait := self._scoped_wait(advertiser_id, endpoint, self._clock())) > 0:
                waited = True
                await self._sleep(wait)
            async with self._lock:  # FIFO: callers are granted in the order they could be sent (joined the queue)
                while True:
                    while (wait := self._wait_needed(self._clock())) > 0:
                        waited = True
                        await self._sleep(wait)
                    if self._fleet is None or await self._fleet.has_token(self._waiting, self.granted):
                        break
                    waited = True  # the fleet's budget had no token now (or the app is paused): windows again
                if self._scoped_wait(advertiser_id, endpoint, self._clock()) > 0:
                    continue  # its advertiser or endpoint was paused while it queued
                now = self._clock()
                self.throttling.close_quiet(now)
                slot = Slot(now, pending=hold)
                self._second.add(slot)
                self._minute.add(slot)
                self._endpoint_windows.add(endpoint, slot)
                if self._fleet is not None:
                    self._fleet.spend()
                self.granted += 1
                grant = Grant(self.granted, advertiser_id, endpoint, slot)
            if waited and self._on_throttle is not None:
                self._on_throttle("local")
            return grant

    def room(self, spare: float) -> bool:
        """Whether polls beyond the schedule may spend budget now: at least ``spare`` (a share) of the per-minute
        budget is unused by this process's requests of the last minute, and the app is neither paused nor at half
        rate after a throttle (pauses another process recorded in the shared budget are adopted with each lease,
        so they count too; the other processes' requests themselves are not seen here)."""
        now = self._clock()
        if self.throttling.app_throttled(now):
            return False
        return self._minute.used(now) <= (1.0 - spare) * self.per_minute

    @property
    def shared(self) -> SharedBudget | None:
        """The budget this limiter shares with other processes (None: its own alone)."""
        return None if self._fleet is None else self._fleet.budget

    # --- answers ----------------------------------------------------------------------------------------------

    def throttled(self, grant: Grant, scope: str = "app", *, code: int | None = None) -> float:
        """TikTok throttled the request of ``grant`` (``scope`` app, endpoint or advertiser; ``code`` for the
        log). Pauses the scope unless a pause begun after the grant already answers it; escalates only for a
        request granted after the previous pause. Returns the seconds the scope stays paused from now."""
        return self.throttling.throttled(grant, scope, code=code, granted=self.granted)

    def _publish(self, pause: float) -> None:
        """Record an app pause this process made in the shared budget (if it shares one), in the background."""
        if self._fleet is not None:
            self._fleet.publish(pause)
