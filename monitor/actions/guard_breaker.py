"""Guard 8 of :func:`monitor.actions.guard.decide`, pure: the fleet-wide circuit breaker.

At most ``max_writes`` real writes within any ``window``, counted across every advertiser and every process sharing
the database (the journal's writes, :class:`~monitor.actions.facts.BreakerFacts`). A poll whose writes would take
the count past ``max_writes`` makes none of them and *opens* the breaker; while it is open every write is held
back (skipped, the reason naming the setting and ``tiktok-monitor actions resume``) until a person resumes or
``breaker_reset`` passes. Reverts (a person's decision) neither count nor are held back. The runner reads the
facts and records the outcome atomically (:mod:`monitor.actions.breaker`).
"""

from __future__ import annotations

from datetime import UTC

from monitor.actions.base import Decision, GuardSettings, Verdict
from monitor.actions.facts import BreakerFacts
from monitor.domain import BreakerEpisode
from monitor.durations import format_duration


def hold_back(
    final: list[Decision], facts: BreakerFacts | None, settings: GuardSettings
) -> tuple[list[Decision], tuple[Decision, ...], str | None]:
    """Hold every write back while the breaker is open, or when this poll's writes would take the count past
    ``max_writes`` (which opens it): the decisions, those held back, and why the breaker opens now (or None).
    ``facts`` None: no breaker (a revert), nothing is held back."""
    if facts is None:
        return final, (), None
    live = [d for d in final if d.verdict is Verdict.GO and d.planned.reverts is None]
    if not live:
        return final, (), None
    opens = None
    episode = facts.open
    if episode is None:
        if facts.writes + len(live) <= settings.max_writes:
            return final, (), None
        opens = (
            f"{facts.writes} writes within {format_duration(settings.window)} and {len(live)} more asked, more than "
            f"max_writes = {settings.max_writes}"
        )
        episode = BreakerEpisode(facts.now, opens)
    why = held_reason(episode, settings)
    holding = {id(d) for d in live}
    out: list[Decision] = []
    held: list[Decision] = []
    for decision in final:
        if id(decision) in holding:
            decision = Decision(decision.planned, Verdict.SKIP, why, decision.before, decision.after)
            held.append(decision)
        out.append(decision)
    return out, tuple(held), opens


def held_reason(episode: BreakerEpisode, settings: GuardSettings) -> str:
    """Why the open breaker holds a write back: what opened it, the setting, and how it closes."""
    opened, closes = episode.opened_at.astimezone(UTC), episode.closes_at(settings.breaker_reset).astimezone(UTC)
    return (
        f"circuit breaker open since {opened:%Y-%m-%d %H:%M} UTC: {episode.reason}; resume with "
        f"tiktok-monitor actions resume (or it closes by itself at {closes:%Y-%m-%d %H:%M} UTC: breaker_reset = "
        f"{format_duration(settings.breaker_reset)})"
    )
