"""The app-wide request budget: one limiter shared by every request the process makes.

TikTok limits a developer app as a whole (Basic tier: 10 QPS *and* 600 QPM), an app on some endpoints
(code 40016), and each advertiser per endpoint (code 40133). It sends no Retry-After header, so the only safe
strategy is to never exceed the budget ourselves and to back off when TikTok says we did (another process may
share the app: ``once`` beside ``run``, another tool).

Why not aiolimiter or a token bucket: a bucket allows a burst of ``capacity`` right after an idle period,
which the server's sliding windows count as one second; we need a hard "never more than N in any window"
over two windows at once, plus pauses. Sliding-window logs of grant times give exactly that.

**Throttle episodes, not throttle answers.** When the app is over its budget, every request already in flight
comes back throttled, within milliseconds. Those answers all say the same thing, so they make *one* pause.
:meth:`RateLimiter.acquire` hands out a :class:`Grant` numbered in grant order; a pause remembers the last
number granted before it began. A throttled answer to a grant from before the latest pause is already answered
by that pause and changes nothing; only a request granted after the pause (so sent once it was over) and
throttled again makes a new pause, twice as long, never longer than ``max_pause`` (what the poll interval can
afford: :func:`pause_cap`). An *episode* of a scope runs from its first throttled answer until ``slow_period``
after its latest pause has passed without another: one warning when it starts, one info line per further pause,
one info line when it is over. The next episode starts from ``first_pause`` again.

Scopes: ``app`` (40100, HTTP 429, 61000) pauses every request and halves the rate for ``slow_period`` after the
pause; ``endpoint`` (40016: an app-level limit of one endpoint) pauses every request to that endpoint, every
advertiser and token; ``advertiser`` (40133) pauses only that advertiser's requests.

**Several processes, one app** (issue 14). Given a :class:`SharedBudget` (``shared``; the database's
:class:`monitor.store.budget.AppBudget`), a request also needs a token of the fleet's budget: the limiter leases
a small batch (at most the callers waiting, at most ``batch_max``), spends it within the lease's validity and
leases again, so the sum of every process's requests stays within ``max_qps`` and ``per_minute`` at the cost
of one database transaction per batch, not per request. It counts its own requests in windows as long as the
fleet's (a batch counts there from its lease, up to its validity before it is sent), so it asks only when the
fleet can have room, and for what it can send while the batch is valid. An app pause it makes is recorded
there too, and a pause another process recorded is adopted at the next lease (as if this process had made it:
answers to grants from before it change nothing, a throttle after it escalates from its length). Should the
database fail, the limiter goes on with its own windows alone and tries it again a second later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from monitor.tiktok.endpoint_budget import ENDPOINT_BUDGETS, EndpointWindows
from monitor.tiktok.sendwindow import SendWindow, Slot

log = logging.getLogger(__name__)

#: Extra spacing added to each window. Requests granted exactly one second apart can arrive at the server
#: closer together (scheduling, connection reuse); a small margin keeps its sliding window satisfied.
DEFAULT_MARGIN = 0.1
#: The first pause of a throttle episode; each pause a request sent after the previous one meets doubles it ...
FIRST_PAUSE = 1.0
#: ... up to ``max_pause``, which is at most this (TikTok's guidance: a QPM breach needs about five minutes).
MAX_PAUSE = 300.0
#: How long the halved rate lasts after an app pause; also how long a pause is remembered for escalation.
SLOW_PERIOD = 60.0
#: The share of the poll interval one pause may take (:func:`pause_cap`).
INTERVAL_SHARE = 0.25

#: The scopes of a throttle: the whole app, one endpoint of the app (every advertiser), one advertiser.
SCOPES = ("app", "endpoint", "advertiser")


def pause_cap(interval_seconds: float) -> float:
    """The longest pause a monitor polling every ``interval_seconds`` can afford: a quarter of the interval,
    so a poll that meets a throttle episode still finishes within its interval; never more than
    :data:`MAX_PAUSE`."""
    return min(MAX_PAUSE, interval_seconds * INTERVAL_SHARE)


#: A pause another process recorded is adopted when it ends at least this much later than ours.
ADOPT_SLACK = 0.05
#: After the shared budget failed (database unreachable), the limiter runs alone this long before asking again.
SHARED_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class BudgetLease:
    """What :meth:`SharedBudget.lease` gives: ``tokens`` requests that may be sent within ``valid_for`` seconds of
    asking (0: none now, ask again in ``retry_in`` seconds), and the app's shared throttle state: paused for
    ``paused_for`` more seconds by a pause of ``pause`` seconds, at half rate for ``slow_for`` more seconds."""

    tokens: int
    valid_for: float
    retry_in: float = 0.0
    paused_for: float = 0.0
    pause: float = 0.0
    slow_for: float = 0.0


class SharedBudget(Protocol):
    """The app's budget shared with other processes (monitor.store.budget.AppBudget)."""

    async def lease(self, wanted: int, qps: int, per_minute: int) -> BudgetLease: ...

    async def pause(self, seconds: float, slow_period: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Grant:
    """The permission to send one request, from :meth:`RateLimiter.acquire`. Hand it back with the answer
    when it is throttled (:meth:`RateLimiter.throttled`). ``seq`` numbers grants in order; ``slot`` is its
    place in the windows (pending until :meth:`RateLimiter.sent` when acquired with ``hold``)."""

    seq: int
    advertiser_id: str | None = None
    endpoint: str | None = None
    slot: Slot | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Episode:
    """One throttle episode of one scope: from its first throttled answer until ``slow_period`` after its
    latest pause passes without another."""

    scope: str
    key: str | None  # the endpoint or advertiser id; None for the app
    code: int | None  # the code of the answer that started it
    started_at: float
    pauses: int = 0
    answers: int = 0  # throttled answers, counting the ones a pause already covered
    longest: float = 0.0
    paused: float = 0.0  # seconds of pause in total


@dataclass(slots=True)
class _Throttle:
    """What one scope (the app, an endpoint, an advertiser) remembers of its throttles."""

    pause: float = 0.0  # length of the latest pause; 0 before the first
    sent_before: int = 0  # grants numbered up to this were made before the latest pause began
    until: float = float("-inf")  # the latest pause ends
    aftermath_until: float = float("-inf")  # the episode lasts until then (the app at half rate)
    episode: Episode | None = None


class RateLimiter:
    """Grants at most ``max_qps`` requests in any second and ``per_minute`` in any minute, whatever the
    number of concurrent callers, in arrival order.

    ``throttled(grant, scope)`` pauses the scope's requests (see the module docstring): the app's (40100; the
    rate is halved until ``slow_period`` after the pause), one endpoint's (40016) or one advertiser's (40133).
    ``clock`` and ``sleep`` are injectable so tests can drive time. ``on_throttle(scope)`` is called for every
    throttled answer and, with scope ``local``, whenever a request had to wait for the budget;
    ``on_episode(scope)`` when an episode begins (the metrics hooks). ``shared`` makes it spend the budget of
    the whole app with other processes (see the module docstring); ``leases`` counts its leases.
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
        self.max_pause = max_pause
        self.first_pause = min(first_pause, max_pause)
        self.slow_period = slow_period
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._on_throttle = on_throttle
        self._on_episode = on_episode
        self._second = SendWindow(1.0 + margin)
        self._minute = SendWindow(60.0 + margin)
        self._endpoint_windows = EndpointWindows(endpoint_budgets, margin)
        self._lock = asyncio.Lock()
        self._app = _Throttle()
        self._endpoints: dict[str, _Throttle] = {}
        self._advertisers: dict[str, _Throttle] = {}
        self.granted = 0
        self.throttles = 0  # throttled answers, every scope
        self.episodes = 0  # episodes begun, every scope
        self.pauses = 0  # pauses made, every scope
        self.longest_pause = 0.0
        self._shared = shared
        self.batch_max = batch_max if batch_max is not None else max(1, max_qps // 2)
        self._tokens = 0  # tokens of the shared budget leased and not spent yet ...
        self._tokens_until = float("-inf")  # ... spendable until then
        self._lease_after = float("-inf")  # no lease before then (the fleet's budget is spent, or it failed)
        self._waiting = 0  # callers in acquire
        self._own_until = float("-inf")  # the latest app pause we recorded in the shared budget ends by then
        self._publishing: set[asyncio.Task[None]] = set()
        self.leases = 0
        self._valid_for = 0.0  # how long a batch of the shared budget may be spent (known from the first lease)

    # --- granting ---------------------------------------------------------------------------------------------

    def _current_qps(self, now: float) -> int:
        return max(1, self.max_qps // 2) if now < self._app.aftermath_until else self.max_qps

    def _wait_needed(self, now: float) -> float:
        """Seconds until one more grant fits every window and the app is not paused (0 when it fits now)."""
        wait = max(0.0, self._app.until - now)
        return max(wait, self._second.wait(self._current_qps(now), now), self._minute.wait(self.per_minute, now))

    def _scoped_wait(self, advertiser_id: str | None, endpoint: str | None, now: float) -> float:
        """Seconds until neither the advertiser nor the endpoint is paused, and the endpoint's own budget (if it
        has one: :mod:`monitor.tiktok.endpoint_budget`) has room."""
        wait = self._endpoint_windows.wait(endpoint, now)
        for states, key in ((self._advertisers, advertiser_id), (self._endpoints, endpoint)):
            state = states.get(key) if key is not None else None
            if state is not None:
                wait = max(wait, state.until - now)
        return wait

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
                    if self._shared is None or await self._has_token():
                        break
                    waited = True  # the fleet's budget had no token now (or the app is paused): windows again
                if self._scoped_wait(advertiser_id, endpoint, self._clock()) > 0:
                    continue  # its advertiser or endpoint was paused while it queued
                now = self._clock()
                self._close_quiet(now)
                slot = Slot(now, pending=hold)
                self._second.add(slot)
                self._minute.add(slot)
                self._endpoint_windows.add(endpoint, slot)
                if self._shared is not None:
                    self._tokens -= 1
                self.granted += 1
                grant = Grant(self.granted, advertiser_id, endpoint, slot)
            if waited and self._on_throttle is not None:
                self._on_throttle("local")
            return grant

    # --- the budget shared with other processes ----------------------------------------------------------------

    def room(self, spare: float) -> bool:
        """Whether polls beyond the schedule may spend budget now: at least ``spare`` (a share) of the per-minute
        budget is unused by this process's requests of the last minute, and the app is neither paused nor at half
        rate after a throttle (pauses another process recorded in the shared budget are adopted with each lease,
        so they count too; the other processes' requests themselves are not seen here)."""
        now = self._clock()
        if now < self._app.until or now < self._app.aftermath_until:
            return False
        return self._minute.used(now) <= (1.0 - spare) * self.per_minute

    @property
    def shared(self) -> SharedBudget | None:
        """The budget this limiter shares with other processes (None: its own alone)."""
        return self._shared

    async def _has_token(self) -> bool:
        """Whether a token of the shared budget may be spent now; leases a batch when none is left (waiting
        first if the fleet's budget said when it has room again). Adopts the shared pause."""
        assert self._shared is not None
        now = self._clock()
        if self._tokens > 0 and now < self._tokens_until:
            return True
        if now < self._lease_after:
            await self._sleep(self._lease_after - now)
            return False
        # what can be spent while the batch is valid: slots that leave the window by then count as room
        room = self._current_qps(now) - self._second.used(now, ahead=self._valid_for)
        wanted = max(1, min(self._waiting, self.batch_max, room))
        try:
            lease = await self._shared.lease(wanted, self.max_qps, self.per_minute)
        except Exception as exc:  # the database is away: go on alone, as a process without a shared budget
            log.warning(
                "the app's shared request budget is unavailable (%s): this process limits itself alone for %.0fs",
                exc,
                SHARED_RETRY,
            )
            self._tokens, self._tokens_until = self.per_minute, now + SHARED_RETRY
            self._lease_after = now + SHARED_RETRY
            return True
        self.leases += 1
        after = self._clock()
        self._fleet_windows(lease.valid_for)
        self._adopt(lease, after)
        self._tokens, self._tokens_until = lease.tokens, now + lease.valid_for
        if lease.tokens == 0:
            self._lease_after = after + lease.retry_in
        return lease.tokens > 0 and self._clock() < self._tokens_until

    def _fleet_windows(self, valid_for: float) -> None:
        """Count this process's requests in windows as long as the fleet's (a second or a minute, plus the margin and
        a batch's ``valid_for``: the shared budget counts a batch from its lease, up to ``valid_for`` before its
        requests leave). With shorter windows the limiter asked the fleet as soon as its own requests left its
        second and was refused, in vain, until they had left the fleet's too: a lease more per second."""
        self._second.length = 1.0 + self._margin + valid_for
        self._minute.length = 60.0 + self._margin + valid_for
        self._valid_for = valid_for

    def _adopt(self, lease: BudgetLease, now: float) -> None:
        """Take over the app pause (and the half rate after it) another process recorded."""
        state = self._app
        if lease.slow_for > 0:
            state.aftermath_until = max(state.aftermath_until, now + lease.slow_for)
        if lease.paused_for <= 0 or now + lease.paused_for <= state.until + ADOPT_SLACK:
            return
        if now < state.until or now + lease.paused_for <= self._own_until + ADOPT_SLACK:
            # paused already, or the shared pause is our own (recorded a little later than we began it): the
            # fleet's pause is the one that counts, nothing to tell
            state.until = now + lease.paused_for
            return
        episode = state.episode
        if episode is None:
            episode = state.episode = Episode("app", None, None, started_at=now)
            self.episodes += 1
            if self._on_episode is not None:
                self._on_episode("app")
        state.pause = max(state.pause, min(self.max_pause, lease.pause))
        state.sent_before = self.granted
        state.until = now + lease.paused_for
        episode.pauses += 1
        episode.paused += lease.paused_for
        episode.longest = max(episode.longest, lease.paused_for)
        log.info(
            "another process sharing the app's budget was rate-limited: every request of the app pauses %.1fs",
            lease.paused_for,
        )

    def _publish(self, pause: float) -> None:
        """Record an app pause this process made in the shared budget, in the background."""
        if self._shared is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._record_pause(self._shared, pause))
        except RuntimeError:  # no event loop (a synchronous test): nobody else to tell
            return
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _record_pause(self, shared: SharedBudget, pause: float) -> None:
        try:
            await shared.pause(pause, self.slow_period)
            # the shared pause began while it was recorded: it ends no later than this, on our clock
            self._own_until = max(self._own_until, self._clock() + pause)
        except Exception as exc:
            log.warning("could not share the app's rate-limit pause with other processes: %s", exc)

    # --- answers ----------------------------------------------------------------------------------------------

    def _state(self, scope: str, key: str | None) -> _Throttle:
        if scope == "app" or key is None:
            return self._app
        states = self._endpoints if scope == "endpoint" else self._advertisers
        return states.setdefault(key, _Throttle())

    def throttled(self, grant: Grant, scope: str = "app", *, code: int | None = None) -> float:
        """TikTok throttled the request of ``grant`` (``scope`` app, endpoint or advertiser; ``code`` for the
        log). Pauses the scope unless a pause begun after the grant already answers it; escalates only for a
        request granted after the previous pause. Returns the seconds the scope stays paused from now."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key = grant.endpoint if scope == "endpoint" else grant.advertiser_id if scope == "advertiser" else None
        if scope != "app" and key is None:
            scope = "app"  # nothing narrower to pause: an endpoint or advertiser limit on an unnamed request
        now = self._clock()
        self.throttles += 1
        if self._on_throttle is not None:
            self._on_throttle(scope)
        self._close_quiet(now)
        state = self._state(scope, key)
        episode = state.episode
        if grant.seq <= state.sent_before:  # sent before the latest pause began: that pause answers it
            if episode is not None:
                episode.answers += 1
            return max(0.0, state.until - now)
        previous = state.pause
        new_episode = episode is None
        pause = self.first_pause if new_episode else min(self.max_pause, previous * 2)
        if episode is None:
            episode = state.episode = Episode(scope, key, code, started_at=now)
            self.episodes += 1
            if self._on_episode is not None:
                self._on_episode(scope)
        state.pause, state.sent_before, state.until = pause, self.granted, now + pause
        state.aftermath_until = state.until + self.slow_period
        episode.pauses += 1
        episode.answers += 1
        episode.paused += pause
        episode.longest = max(episode.longest, pause)
        self.pauses += 1
        self.longest_pause = max(self.longest_pause, pause)
        if scope == "app":
            self._publish(pause)
        if new_episode:
            log.warning("%s", self._started_text(episode, pause, grant))
        else:
            log.info("still rate-limited (%s) after a %.1fs pause: pausing %.1fs", _what(episode), previous, pause)
        return pause

    def _started_text(self, episode: Episode, pause: float, grant: Grant) -> str:
        code = f"code {episode.code}" if episode.code is not None else "throttled"
        if episode.scope == "app":
            return (
                f"TikTok rate-limited the app ({code} on {grant.endpoint or 'a request'}): every request of the app "
                f"pauses for {pause:.1f}s, then runs at half rate ({max(1, self.max_qps // 2)}/s) for "
                f"{self.slow_period:.0f}s. Another process using the same app (a `once` beside `run`, another tool) "
                "is the usual cause; polling goes on with what is left"
            )
        if episode.scope == "endpoint":
            return (
                f"TikTok rate-limited the app on {episode.key} ({code}): requests to that endpoint pause for "
                f"{pause:.1f}s (every advertiser and token); other requests go on"
            )
        return (
            f"TikTok rate-limited advertiser {episode.key} ({code} on {grant.endpoint or 'a request'}): its "
            f"requests pause for {pause:.1f}s; other advertisers go on"
        )

    def _close_quiet(self, now: float) -> None:
        """End the episodes whose aftermath passed without a new pause (one info line each), and forget the
        endpoints and advertisers with nothing left to remember."""
        for state in (self._app, *self._endpoints.values(), *self._advertisers.values()):
            episode = state.episode
            if episode is None or now < state.aftermath_until:
                continue
            state.episode = None
            log.info(
                "rate limit episode over (%s): %d pause%s (%.1fs in all, longest %.1fs), %d throttled answer%s; "
                "no throttle in the %.0fs after the last pause%s",
                _what(episode),
                episode.pauses,
                "" if episode.pauses == 1 else "s",
                episode.paused,
                episode.longest,
                episode.answers,
                "" if episode.answers == 1 else "s",
                self.slow_period,
                ", full rate again" if episode.scope == "app" else "",
            )
        for states in (self._endpoints, self._advertisers):
            for key in [k for k, s in states.items() if s.episode is None and now >= s.aftermath_until]:
                del states[key]


def _what(episode: Episode) -> str:
    if episode.scope == "app":
        return "the app"
    return f"{episode.scope} {episode.key}"
