"""TikTok's throttled answers and the pauses they make: the rate limiter's (monitor.tiktok.ratelimit) record of the
throttles of every scope.

**Throttle episodes, not throttle answers.** When the app is over its budget, every request already in flight
comes back throttled, within milliseconds. Those answers all say the same thing, so they make *one* pause.
:meth:`~monitor.tiktok.ratelimit.RateLimiter.acquire` hands out a :class:`~monitor.tiktok.ratelimit.Grant`
numbered in grant order; a pause remembers the last number granted before it began. A throttled answer to a grant
from before the latest pause is already answered by that pause and changes nothing; only a request granted after
the pause (so sent once it was over) and throttled again makes a new pause, twice as long, never longer than
``max_pause`` (what the poll interval can afford: :func:`pause_cap`). An *episode* of a scope runs from its first
throttled answer until ``slow_period`` after its latest pause has passed without another: one warning when it
starts, one info line per further pause, one info line when it is over. The next episode starts from
``first_pause`` again.

Scopes: ``app`` (40100, HTTP 429, 61000) pauses every request and halves the rate for ``slow_period`` after the
pause; ``endpoint`` (40016: an app-level limit of one endpoint) pauses every request to that endpoint, every
advertiser and token; ``advertiser`` (40133) pauses only that advertiser's requests. An app pause another process
recorded in the shared budget (monitor.tiktok.shared_budget) is adopted as if this process had made it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.tiktok.ratelimit import Grant
    from monitor.tiktok.shared_budget import BudgetLease

#: The limiter's logger: every line about throttles and the shared budget goes to one logger name.
log = logging.getLogger("monitor.tiktok.ratelimit")

#: The first pause of a throttle episode; each pause a request sent after the previous one meets doubles it ...
FIRST_PAUSE = 1.0
#: ... up to ``max_pause``, which is at most this (TikTok's guidance: a QPM breach needs about five minutes).
MAX_PAUSE = 300.0
#: How long the halved rate lasts after an app pause; also how long a pause is remembered for escalation.
SLOW_PERIOD = 60.0
#: The share of the poll interval one pause may take (:func:`pause_cap`).
INTERVAL_SHARE = 0.25
#: A pause another process recorded is adopted when it ends at least this much later than ours.
ADOPT_SLACK = 0.05

#: The scopes of a throttle: the whole app, one endpoint of the app (every advertiser), one advertiser.
SCOPES = ("app", "endpoint", "advertiser")


def pause_cap(interval_seconds: float) -> float:
    """The longest pause a monitor polling every ``interval_seconds`` can afford: a quarter of the interval,
    so a poll that meets a throttle episode still finishes within its interval; never more than
    :data:`MAX_PAUSE`."""
    return min(MAX_PAUSE, interval_seconds * INTERVAL_SHARE)


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


class Throttling:
    """The throttles of the app, its endpoints and its advertisers, for a limiter of ``max_qps`` requests a second
    (see the module docstring). ``on_throttle(scope)`` is called for every throttled answer, ``on_episode(scope)``
    when an episode begins (the metrics hooks), ``on_app_pause(seconds)`` when a throttle paused the app (to record
    it in the shared budget). Counts ``throttles`` (answers), ``episodes`` (begun) and ``pauses`` (made), every
    scope, and the ``longest_pause``."""

    def __init__(
        self,
        max_qps: int,
        *,
        first_pause: float,
        max_pause: float,
        slow_period: float,
        clock: Callable[[], float],
        on_throttle: Callable[[str], None] | None = None,
        on_episode: Callable[[str], None] | None = None,
        on_app_pause: Callable[[float], None] | None = None,
    ) -> None:
        self.max_qps = max_qps
        self.max_pause = max_pause
        self.first_pause = min(first_pause, max_pause)
        self.slow_period = slow_period
        self._clock = clock
        self._on_throttle = on_throttle
        self._on_episode = on_episode
        self._on_app_pause = on_app_pause
        self._app = _Throttle()
        self._endpoints: dict[str, _Throttle] = {}
        self._advertisers: dict[str, _Throttle] = {}
        self.throttles = 0  # throttled answers, every scope
        self.episodes = 0  # episodes begun, every scope
        self.pauses = 0  # pauses made, every scope
        self.longest_pause = 0.0

    # --- what the pauses allow ----------------------------------------------------------------------------------

    def qps(self, now: float) -> int:
        """The app's rate now: half of ``max_qps`` in the aftermath of an app pause."""
        return max(1, self.max_qps // 2) if now < self._app.aftermath_until else self.max_qps

    def app_wait(self, now: float) -> float:
        """Seconds until the app's pause is over (0: not paused)."""
        return max(0.0, self._app.until - now)

    def app_throttled(self, now: float) -> bool:
        """Whether the app is paused or at half rate after a pause."""
        return now < self._app.until or now < self._app.aftermath_until

    def scoped_wait(self, advertiser_id: str | None, endpoint: str | None, now: float) -> float:
        """Seconds until neither the advertiser nor the endpoint is paused (0: neither is)."""
        wait = 0.0
        for states, key in ((self._advertisers, advertiser_id), (self._endpoints, endpoint)):
            state = states.get(key) if key is not None else None
            if state is not None:
                wait = max(wait, state.until - now)
        return wait

    # --- answers ----------------------------------------------------------------------------------------------

    def _state(self, scope: str, key: str | None) -> _Throttle:
        if scope == "app" or key is None:
            return self._app
        states = self._endpoints if scope == "endpoint" else self._advertisers
        return states.setdefault(key, _Throttle())

    def throttled(self, grant: Grant, scope: str, *, code: int | None, granted: int) -> float:
        """TikTok throttled the request of ``grant`` (``scope`` app, endpoint or advertiser; ``code`` for the
        log); ``granted`` grants were made so far. Pauses the scope unless a pause begun after the grant already
        answers it; escalates only for a request granted after the previous pause. Returns the seconds the scope
        stays paused from now."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key = grant.endpoint if scope == "endpoint" else grant.advertiser_id if scope == "advertiser" else None
        if scope != "app" and key is None:
            scope = "app"  # nothing narrower to pause: an endpoint or advertiser limit on an unnamed request
        now = self._clock()
        self.throttles += 1
        if self._on_throttle is not None:
            self._on_throttle(scope)
        self.close_quiet(now)
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
        state.pause, state.sent_before, state.until = pause, granted, now + pause
        state.aftermath_until = state.until + self.slow_period
        episode.pauses += 1
        episode.answers += 1
        episode.paused += pause
        episode.longest = max(episode.longest, pause)
        self.pauses += 1
        self.longest_pause = max(self.longest_pause, pause)
        if scope == "app" and self._on_app_pause is not None:
            self._on_app_pause(pause)
        if new_episode:
            log.warning("%s", self._started_text(episode, pause, grant))
        else:
            log.info("still rate-limited (%s) after a %.1fs pause: pausing %.1fs", _what(episode), previous, pause)
        return pause

    def adopt(self, lease: BudgetLease, now: float, *, granted: int, own_until: float) -> None:
        """Take over the app pause (and the half rate after it) another process recorded in the shared budget;
        ``own_until``: the latest app pause this process recorded there ends by then."""
        state = self._app
        if lease.slow_for > 0:
            state.aftermath_until = max(state.aftermath_until, now + lease.slow_for)
        if lease.paused_for <= 0 or now + lease.paused_for <= state.until + ADOPT_SLACK:
            return
        if now < state.until or now + lease.paused_for <= own_until + ADOPT_SLACK:
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
        state.sent_before = granted
        state.until = now + lease.paused_for
        episode.pauses += 1
        episode.paused += lease.paused_for
        episode.longest = max(episode.longest, lease.paused_for)
        log.info(
            "another process sharing the app's budget was rate-limited: every request of the app pauses %.1fs",
            lease.paused_for,
        )

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

    def close_quiet(self, now: float) -> None:
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
