"""The actions of a backtest: the real guards (:func:`monitor.actions.guard.decide`) over a simulated journal,
simulated manual-override holds and a simulated circuit breaker. Pure: nothing is written, no API is asked.

What the backtest "did" counts for later guards as the daemon's writes would have: a pause it would have made is
in the simulated journal (so ``max_change_per_day`` sees the day's budget moves, ``max_writes`` the window's
writes, and a person undoing that write in the stored history makes an ``override_hold``). Guards that need the
API are not reproduced: every simulated write succeeds at once (no pending entries, no verification), and the
entity keeps what the stored history says (the history already holds what the daemon really did).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from monitor.actions import override
from monitor.actions.base import WRITABLE, Decision, GuardSettings, Verdict, planned_from
from monitor.actions.execute import intent_of
from monitor.actions.facts import BreakerFacts, collect
from monitor.actions.guard import GuardContext, decide
from monitor.domain import BreakerEpisode, Hold
from monitor.domain.breaker import counted_from
from monitor.rules.lifecycle import Transition
from monitor.store.diff import SnapshotDiff
from monitor.store.values import ActionStatus, JournalEntry

#: Journal entries older than this no longer matter to a guard (the local day, a daily budget's next day).
_REACH = timedelta(hours=50)


class SimulatedActions:
    """The act step of one advertiser in a backtest: guards decide, nothing is carried out."""

    def __init__(self, advertiser_id: str, zone: tzinfo, currency: str | None, settings: GuardSettings) -> None:
        self.advertiser_id = advertiser_id
        self.zone = zone
        self.currency = currency
        self.settings = settings
        self.journal: list[JournalEntry] = []
        self.holds: list[Hold] = []
        self.episode: BreakerEpisode | None = None
        self._ids = 0

    def observe(self, changes: SnapshotDiff, now: datetime) -> None:
        """A person undoing a write the backtest made (seen in the stored diff) holds that field, as the daemon's
        manual-override detection does."""
        moved = [c for c in changes.changed if c.field in WRITABLE]
        if moved:
            writes = override.latest_writes(self.journal)
            self.holds += override.detect(moved, writes, now, self.settings.override_hold, self.currency)

    def act(self, transitions: Sequence[Transition], now: datetime, poll_id: int) -> tuple[Decision, ...]:
        """The guards' decisions on what ``transitions`` ask for at ``now``; writes and dry runs are journaled
        (simulated) for the guards of later polls."""
        plans = planned_from(transitions)
        if not plans:
            return ()
        self.journal = [e for e in self.journal if e.created_at >= now - _REACH]
        self.holds = [h for h in self.holds if h.live(now)]
        facts = collect(self.journal, self.holds, now, self.zone)
        ctx = GuardContext(now, self.zone, self.currency, self.settings, facts, None, self._breaker(now))
        result = decide(plans, ctx)
        if result.opens is not None:
            self.episode = BreakerEpisode(now, result.opens)
        for decision in result.decisions:
            if decision.verdict is not Verdict.SKIP:
                self._journal(decision, now, poll_id)
        return result.decisions

    def _breaker(self, now: datetime) -> BreakerFacts:
        newest = self.episode.as_of(now, self.settings.breaker_reset) if self.episode is not None else None
        since = counted_from(newest, now, self.settings.window)
        writes = sum(1 for e in self.journal if not e.intent.dry_run and e.created_at >= since)
        return BreakerFacts(now, writes, newest if newest is not None and newest.is_open else None)

    def _journal(self, decision: Decision, now: datetime, poll_id: int) -> None:
        dry = decision.verdict is Verdict.DRY_RUN
        intent = intent_of(self.advertiser_id, decision, poll_id, dry=dry)
        status = ActionStatus.DRY_RUN if dry else ActionStatus.SUCCEEDED
        self._ids += 1
        self.journal.append(JournalEntry(self._ids, now, intent, status, now, None, None))
