"""The act step's writers, replaced for a preview: each reads what the real one reads and writes nothing.

* :class:`PreviewJournal`: reads the journal; what the real poll would record (a pending entry settled, a write
  not confirmed) is kept in :attr:`PreviewJournal.would` instead.
* :class:`PreviewBreaker`: the circuit breaker's count and state are *read* (``status``), never recorded; the
  pure guard runs with them. Writes this preview would admit for one advertiser count for the next one (as the
  real cycle's would), and an opening it would cause holds the later ones back.
* :class:`PreviewExecutor`: no API call, no journal entry: each decision becomes the :class:`Taken` a message
  would show (a write that would go out as ``done``: the message as it would be sent if TikTok accepts it), and
  the decisions are kept for the report.

The :class:`~monitor.actions.runner.ActionRunner` built with these (``journal``, ``breaker``, ``executor``) is
the real one: reconcile, verify, overrides and the guards run unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.actions.base import Decision, GuardSettings, Planned, Taken, Verdict
from monitor.actions.breaker import Breaker
from monitor.actions.execute import Executor
from monitor.actions.facts import BreakerFacts
from monitor.actions.guard import GuardContext, GuardResult, decide
from monitor.clock import Clock
from monitor.domain import BreakerEpisode, Outcome
from monitor.store.breaker import BreakerEpisodes
from monitor.store.errors import StoreError
from monitor.store.journal import Journal
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry


class PreviewJournal(Journal):
    """A journal that reads and does not write: see the module docstring."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        super().__init__(engine, clock)
        self.would: list[str] = []

    async def begin(self, intent: ActionIntent, now: datetime) -> JournalEntry:
        raise StoreError("a preview journals nothing")  # the preview executor never begins an entry

    async def finish(
        self,
        entry_id: int,
        now: datetime,
        status: ActionStatus,
        *,
        request_id: str | None = None,
        error: str | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        self.would.append(f"journal #{entry_id} would be settled as {status.value}: {error or ''}".rstrip(": "))
        return await self._stored(entry_id)

    async def note(self, entry_id: int, text: str) -> JournalEntry:
        self.would.append(f"journal #{entry_id} would be noted: {text}")
        return await self._stored(entry_id)

    async def _stored(self, entry_id: int) -> JournalEntry:
        entry = await self.get(entry_id)
        if entry is None:
            raise StoreError(f"journal entry {entry_id} does not exist")
        return entry


class PreviewBreaker(Breaker):
    """The circuit breaker, read and never recorded: see the module docstring."""

    def __init__(self, episodes: BreakerEpisodes, clock: Clock, settings: GuardSettings) -> None:
        super().__init__(episodes, clock, settings)
        self._admitted = 0  # writes this preview would have made, for the advertisers after
        self._opened: BreakerEpisode | None = None  # an opening this preview would have caused

    async def decide(
        self, advertiser_id: str, plans: Sequence[Planned], ctx: GuardContext, poll_id: int | None = None
    ) -> tuple[GuardResult, dict[int, JournalEntry]]:
        first = decide(plans, ctx)
        if not any(d.verdict is Verdict.GO and d.planned.reverts is None for d in first.decisions):
            return first, {}
        status = await self.status()
        episode = status.episode if status.is_open else self._opened
        facts = BreakerFacts(ctx.now, status.writes + self._admitted, episode)
        result = decide(plans, dataclasses.replace(ctx, breaker=facts))
        self._admitted += sum(1 for d in result.decisions if d.verdict is Verdict.GO and d.planned.reverts is None)
        if result.opens is not None and self._opened is None:
            self._opened = BreakerEpisode(ctx.now, result.opens)
        return result, {}


class PreviewExecutor(Executor):
    """Carries out nothing: see the module docstring. ``decided`` keeps each advertiser's decisions."""

    def __init__(self) -> None:  # no client, no journal: nothing is sent or recorded
        self.decided: dict[str, list[Decision]] = {}

    async def run(
        self,
        advertiser_id: str,
        decisions: Sequence[Decision],
        poll_id: int | None = None,
        begun: Mapping[int, JournalEntry] | None = None,
    ) -> list[Taken]:
        self.decided.setdefault(advertiser_id, []).extend(decisions)
        return [Taken(d.planned, _OUTCOME[d.verdict], d.reason) for d in decisions]


#: What a message would say of each verdict (a write that would go out: as if TikTok accepts it).
_OUTCOME = {Verdict.GO: Outcome.DONE, Verdict.DRY_RUN: Outcome.DRY_RUN, Verdict.SKIP: Outcome.SKIPPED}


__all__ = ["PreviewBreaker", "PreviewExecutor", "PreviewJournal"]
