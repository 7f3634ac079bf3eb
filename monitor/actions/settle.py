"""Steps 1 and 2 of the act step (:mod:`monitor.actions.runner`): the past settled before anything is decided.

:class:`Settling` is one poll's settling, with what the poll read:

1. :meth:`Settling.reconcile`: journal entries left pending (by a crash, or by a request under way when a
   cancellation came) are settled from what this poll read, never retried; a revert found to have succeeded makes
   the hold it was kept from storing;
2. :meth:`Settling.verify`: the writes this poll is the first to see are compared with what it read; a mismatch is
   noted in the journal and told; a confirmed revert whose hold is not stored (cut short after its answer was
   journaled: Ctrl-C, the shutdown of a daemon whose Slack button or status page ran it) makes it.

What they find goes into ``failed`` (told as ``action_failed``), ``notes`` (logged) and ``made`` (holds the poll
stores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.actions import override, verify
from monitor.domain import Hold, Level, Snapshot
from monitor.store.journal import Journal
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.models import AdvertiserInfo


@dataclass
class Settling:
    """One poll's settling of ``info``'s past: ``current`` as read at ``now``, of which the ``polled`` levels were
    read (the others carried over: nothing is settled or verified from them)."""

    journal: Journal
    override_hold: timedelta
    info: AdvertiserInfo
    current: Snapshot
    polled: frozenset[Level]
    now: datetime
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    made: list[Hold] = field(default_factory=list)

    async def reconcile(self, pending: Sequence[JournalEntry]) -> bool:
        """Finish the ``pending`` entries of the advertiser from what this poll read (we hold the lease: none of
        them can still be in flight); whether any was finished. A daily budget that has not taken effect yet stays
        pending. A revert that took effect makes its hold here (the revert died before it could store it)."""
        now = self.now
        settled_any = False
        for entry in pending:
            intent = entry.intent
            polled_level = intent.level in self.polled
            found = self.current.get(intent.level, intent.entity_id) if polled_level else None
            settled = verify.reconcile(entry, found, polled_level, now, self.info.currency)
            if settled is None:
                continue
            status, text = settled
            settled_any = True
            await self.journal.finish(entry.id, now, status, error=text)
            self.notes.append(f"journal #{entry.id}: {text}")
            if status is ActionStatus.FAILED:
                self.failed.append(f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id}: {text}")
            hold = override.revert_hold(entry, self.override_hold)
            if status is ActionStatus.SUCCEEDED and hold is not None and hold.live(now):
                self.made.append(hold)
        return settled_any

    async def verify(self, recent: Sequence[JournalEntry], previous: Snapshot | None, stored: Sequence[Hold]) -> None:
        """Compare the writes this poll is the first to see with what it read; note and tell a mismatch. A revert
        confirmed whose hold is neither ``stored`` nor made (by the reconciling) has it made."""
        now = self.now
        for entry in verify.to_verify(recent, previous.taken_at if previous else None, now):
            intent = entry.intent
            if intent.level not in self.polled:
                continue
            problem = verify.mismatch(entry, self.current.get(intent.level, intent.entity_id), self.info.currency)
            if problem is None:
                self.notes.append(f"journal #{entry.id} confirmed by the poll at {now:%H:%M} UTC")
                hold = override.missing_revert_hold(entry, [*stored, *self.made], self.override_hold)
                if hold is not None and hold.live(now):
                    self.made.append(hold)
                continue
            text = f"not confirmed by the poll at {now:%Y-%m-%d %H:%M} UTC: {problem}"
            await self.journal.note(entry.id, text)
            self.failed.append(f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id}: {text}")
