"""The fleet-wide circuit breaker as the act step, the daemon and ``tiktok-monitor actions`` use it.

The guard itself is pure (guard 8 of :func:`monitor.actions.guard.decide`: :mod:`monitor.actions.guard_breaker`);
this module gives it what it needs and records what it decided, through the store
(:class:`monitor.store.breaker.BreakerEpisodes`):

* :meth:`Breaker.decide`: the guards' decisions for one poll's plans. When some write would go out, the store's
  check-and-record runs: under the breaker's lock it reads the open episode and the real writes of the window
  (every advertiser, every replica), :func:`decide` runs with them, and the writes admitted are journaled as
  pending in the same transaction (so the next poll, anywhere, counts them); held-back writes open an episode or
  are added to the open one. The API calls come after, outside the lock.
* :meth:`Breaker.tell`: people are told once per opening (an ``actions_held`` operational message naming the
  reason, the setting and the held-back actions), whichever replica gets there first. ``once`` tells after its
  cycle; the daemon's outbox job tells one poll interval (at most 15 minutes) after the opening, so the message
  lists what a whole cycle of polls held back.
* :meth:`Breaker.resume` (``tiktok-monitor actions resume``) closes the open episode, recording who did; writes
  made before no longer count. An episode also closes by itself ``breaker_reset`` after it opened.
* :meth:`Breaker.status` for ``/healthz``, ``/metrics`` and ``tiktok-monitor actions status``.

Held-back actions are not replayed after the breaker closes: a rule acts again when its alert fires anew.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.actions.base import GuardSettings, Planned, Verdict
from monitor.actions.facts import BreakerFacts
from monitor.clock import Clock
from monitor.domain import BreakerEpisode, OpsKind
from monitor.durations import format_duration
from monitor.notify.message import OperationalMessage, notifications
from monitor.store.breaker import Admission, BreakerEpisodes, BreakerStatus
from monitor.store.values import JournalEntry, Notification

if TYPE_CHECKING:
    from monitor.actions.guard import GuardContext, GuardResult

log = logging.getLogger(__name__)

#: The subject of the breaker's operational messages.
SUBJECT = "circuit-breaker"
#: How many held-back actions the message lists.
MESSAGE_LIST_LIMIT = 20
#: The daemon tells at most this long after an opening (see :func:`tell_after`).
TELL_AFTER_MAX = timedelta(minutes=15)


class Breaker:
    """The circuit breaker of every advertiser sharing ``episodes``' database. ``settings`` serve :meth:`tell`,
    :meth:`status` and :meth:`resume`; :meth:`decide` uses the settings of the guards' context."""

    def __init__(self, episodes: BreakerEpisodes, clock: Clock, settings: GuardSettings | None = None) -> None:
        self._episodes = episodes
        self._clock = clock
        self.settings = settings or GuardSettings()

    async def decide(
        self, advertiser_id: str, plans: Sequence[Planned], ctx: GuardContext, poll_id: int | None = None
    ) -> tuple[GuardResult, dict[int, JournalEntry]]:
        """The guards' decisions on ``plans`` with the breaker's facts, and the journal entries (pending) of the
        writes admitted, by position in the decisions. Without a write to make, the store is not asked."""
        # only a poll with something to write gets here: the others load neither the guards nor the executor
        from monitor.actions.execute import intent_of
        from monitor.actions.guard import decide

        preview = decide(plans, ctx)
        if not any(d.verdict is Verdict.GO and d.planned.reverts is None for d in preview.decisions):
            return preview, {}
        now = self._clock.now()
        settings = ctx.settings
        judged: list[GuardResult] = []

        def judge(episode: BreakerEpisode | None, writes: int) -> Admission:
            result = decide(plans, dataclasses.replace(ctx, breaker=BreakerFacts(now, writes, episode)))
            judged.append(result)
            go = [d for d in result.decisions if d.verdict is Verdict.GO]
            held = tuple(f"{d.planned.describe()} of advertiser {advertiser_id} ({d.planned.who})" for d in result.held)
            return Admission(tuple(intent_of(advertiser_id, d, poll_id) for d in go), held, result.opens)

        entries = await self._episodes.admit(now, settings.window, settings.breaker_reset, judge)
        result = judged[-1]
        positions = [i for i, d in enumerate(result.decisions) if d.verdict is Verdict.GO]
        if result.opens is not None:
            log.warning("circuit breaker opened: %s", result.opens)
        return result, dict(zip(positions, entries, strict=True))

    async def status(self) -> BreakerStatus:
        return await self._episodes.status(self._clock.now(), self.settings.window, self.settings.breaker_reset)

    async def resume(self, by: str) -> BreakerEpisode | None:
        """Close the open episode as ``by``; the closed episode, or None when the breaker was not open."""
        closed = await self._episodes.resume(self._clock.now(), by, self.settings.breaker_reset)
        if closed is not None:
            log.warning("circuit breaker closed by %s (opened %s: %s)", by, closed.opened_at, closed.reason)
        return closed

    async def tell(self, channels: Sequence[str], *, after: timedelta = timedelta(0)) -> BreakerEpisode | None:
        """Tell people about the open episode if nobody was told yet and it opened at least ``after`` ago (logged,
        and queued for ``channels``); returns the episode told. ``once`` tells after its cycle; the daemon waits
        :func:`tell_after` so the message lists what one cycle of polls after the opening held back."""
        now = self._clock.now()

        def compose(episode: BreakerEpisode) -> list[Notification]:
            message = breaker_message(episode, self.settings, now)
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, message.detail)
            return notifications(message, channels)

        return await self._episodes.tell_once(now, self.settings.breaker_reset, compose, after)


def tell_after(interval: timedelta) -> timedelta:
    """How long the daemon waits after an opening before it tells: one poll interval (every advertiser polled
    once since), at most :data:`TELL_AFTER_MAX`."""
    return min(interval, TELL_AFTER_MAX)


def breaker_message(episode: BreakerEpisode, settings: GuardSettings, now: datetime) -> OperationalMessage:
    """The ``actions_held`` message of an opening: why, the setting, what was held back, how it closes."""
    listed = episode.held[:MESSAGE_LIST_LIMIT]
    more = episode.held_count - len(listed)
    held = "; ".join(listed) + (f"; and {more} more" if more > 0 else "")
    closes = episode.closes_at(settings.breaker_reset).astimezone(UTC)
    since = (episode.opened_at - settings.window).astimezone(UTC)
    detail = (
        f"circuit breaker open: {episode.reason}. Held back ({episode.held_count}): {held}. Every later action is "
        f"held back too (and not replayed) until tiktok-monitor actions resume, or until {closes:%Y-%m-%d %H:%M} UTC "
        f"(breaker_reset = {format_duration(settings.breaker_reset)}). The writes that counted: tiktok-monitor "
        f"history --since {since:%Y-%m-%dT%H:%MZ}"
    )
    return OperationalMessage(OpsKind.ACTIONS_HELD, SUBJECT, detail, episode.opened_at, now)


def resumed_text(closed: BreakerEpisode | None) -> str:
    """What ``tiktok-monitor actions resume`` prints."""
    if closed is None:
        return "the circuit breaker is not open: nothing to resume"
    assert closed.closed_at is not None
    return (
        f"circuit breaker closed by {closed.closed_by} at {_utc(closed.closed_at)}: rules may write again. It opened "
        f"at {_utc(closed.opened_at)} ({closed.reason}); the {closed.held_count} action(s) it held back are not "
        f"replayed (rules act again when their alerts fire anew)"
    )


def render_breaker(status: BreakerStatus, settings: GuardSettings) -> str:
    """What ``tiktok-monitor actions status`` prints: the state, the count, the newest episode."""
    count = (
        f"writes counted: {status.writes} since {_utc(status.counted_from)} (at most max_writes = "
        f"{settings.max_writes} within window = {format_duration(settings.window)})"
    )
    episode = status.episode
    if episode is None:
        return f"circuit breaker: closed (it never opened)\n{count}\n"
    if episode.is_open:
        told = f"told at {_utc(episode.told_at)}" if episode.told_at else "not told yet"
        lines = [
            f"circuit breaker: OPEN since {_utc(episode.opened_at)}: {episode.reason}",
            f"closes by itself at {_utc(episode.closes_at(settings.breaker_reset))} (breaker_reset = "
            f"{format_duration(settings.breaker_reset)}), or now with: tiktok-monitor actions resume",
            f"held back: {episode.held_count} action(s); people {told}",
            *(f"  {line}" for line in episode.held),
        ]
        if episode.held_count > len(episode.held):
            lines.append(f"  and {episode.held_count - len(episode.held)} more")
        return "\n".join([*lines, count]) + "\n"
    assert episode.closed_at is not None
    return (
        f"circuit breaker: closed (last opened {_utc(episode.opened_at)}: {episode.reason}; closed by "
        f"{episode.closed_by} at {_utc(episode.closed_at)})\n{count}\n"
    )


def _utc(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
