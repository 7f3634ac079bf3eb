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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Grant:
    """The permission to send one request, from :meth:`RateLimiter.acquire`. Hand it back with the answer
    when it is throttled (:meth:`RateLimiter.throttled`). ``seq`` numbers grants in order."""

    seq: int
    advertiser_id: str | None = None
    endpoint: str | None = None


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
    ``on_episode(scope)`` when an episode begins (the metrics hooks).
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
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._app = _Throttle()
        self._endpoints: dict[str, _Throttle] = {}
        self._advertisers: dict[str, _Throttle] = {}
        self.granted = 0
        self.throttles = 0  # throttled answers, every scope
        self.episodes = 0  # episodes begun, every scope
        self.pauses = 0  # pauses made, every scope
        self.longest_pause = 0.0

    # --- granting ---------------------------------------------------------------------------------------------

    def _current_qps(self, now: float) -> int:
        return max(1, self.max_qps // 2) if now < self._app.aftermath_until else self.max_qps

    def _wait_needed(self, now: float) -> float:
        """Seconds until one more grant fits every window and the app is not paused (0 when it fits now)."""
        window_1s, window_60s = 1.0 + self._margin, 60.0 + self._margin
        while self._second and self._second[0] <= now - window_1s:
            self._second.popleft()
        while self._minute and self._minute[0] <= now - window_60s:
            self._minute.popleft()
        wait = max(0.0, self._app.until - now)
        qps = self._current_qps(now)
        if len(self._second) >= qps:
            wait = max(wait, self._second[-qps] + window_1s - now)
        if len(self._minute) >= self.per_minute:
            wait = max(wait, self._minute[-self.per_minute] + window_60s - now)
        return wait

    def _scoped_wait(self, advertiser_id: str | None, endpoint: str | None, now: float) -> float:
        """Seconds until neither the advertiser nor the endpoint is paused."""
        wait = 0.0
        for states, key in ((self._advertisers, advertiser_id), (self._endpoints, endpoint)):
            state = states.get(key) if key is not None else None
            if state is not None:
                wait = max(wait, state.until - now)
        return wait

    async def acquire(self, advertiser_id: str | None = None, endpoint: str | None = None) -> Grant:
        """Wait until a request (for ``advertiser_id``, to ``endpoint``) may be sent, count it as sent, and
        return its :class:`Grant`."""
        waited = False
        while True:
            # an advertiser's or endpoint's pause holds up only its own requests: waited for outside the queue
            while (wait := self._scoped_wait(advertiser_id, endpoint, self._clock())) > 0:
                waited = True
                await self._sleep(wait)
            async with self._lock:  # FIFO: callers are granted in the order they asked
                while (wait := self._wait_needed(self._clock())) > 0:
                    waited = True
                    await self._sleep(wait)
                if self._scoped_wait(advertiser_id, endpoint, self._clock()) > 0:
                    continue  # its advertiser or endpoint was paused while it queued
                now = self._clock()
                self._close_quiet(now)
                self._second.append(now)
                self._minute.append(now)
                self.granted += 1
                grant = Grant(self.granted, advertiser_id, endpoint)
            if waited and self._on_throttle is not None:
                self._on_throttle("local")
            return grant

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
