"""Step 6 of a poll, "act": settle the past, then decide and carry out what the rules ask for.

:meth:`ActionRunner.act` runs inside the poll's block, under the advertiser's lease (no other poll or revert
writes to the advertiser meanwhile), after the lifecycle and before the notifications:

1. **reconcile**: journal entries left pending by a crash are settled from what this poll read (never retried);
2. **verify**: writes the previous poll (or a revert since) made are compared with what this poll read; a
   mismatch is noted in the journal and told as an ``action_failed`` operational message;
3. **overrides**: the diff shows a person undoing the monitor's change: a hold is kept (as an alert state in the
   poll's transaction) and told as ``actions_held``; expired holds are dropped;
4. **guards** (:mod:`guard`) decide on every action the lifecycle asks for, with the journal's facts;
5. **execute** (:mod:`execute`): journal before, API call, journal after; failures told as ``action_failed``,
   blast radius and conflicts as ``actions_held``.

The journal is written in its own transactions (a write that reached TikTok stays recorded even if the poll
then fails); holds, alert states and every message commit with the poll. If the poll fails after writing, its
alert states roll back: the next poll sees the rule fire again and the guards find the entity already changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.actions import override, verify
from monitor.actions.base import WRITABLE, GuardSettings, Planned, Taken, planned_from
from monitor.actions.execute import Executor
from monitor.actions.facts import Hold, collect, recent_since
from monitor.actions.guard import GuardContext, decide
from monitor.clock import Clock
from monitor.domain import Account, AlertState, Level, Outcome, Snapshot
from monitor.notify.message import Action as MessageAction
from monitor.notify.message import OperationalMessage, OpsKind
from monitor.rules.lifecycle import AlertKey, Transition
from monitor.store.diff import SnapshotDiff
from monitor.store.journal import Journal
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserInfo

log = logging.getLogger(__name__)

#: A daily ad-group budget shows a day after it was written, at most 25 hours (a DST day) later.
SCHEDULE_REACH = timedelta(hours=26)


@dataclass(frozen=True)
class ActResult:
    """What the act step did, and what the poll commits for it."""

    taken: tuple[Taken, ...] = ()
    messages: tuple[OperationalMessage, ...] = ()
    save_holds: tuple[AlertState, ...] = ()
    drop_holds: tuple[AlertKey, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)  # reconciled and verified writes, for the log

    def outcomes(self) -> dict[tuple[str, str], MessageAction]:
        """(rule, entity id) -> what its action did, for the alert messages."""
        return {(t.planned.rule, t.planned.entity_id): t.message_action() for t in self.taken if t.planned.rule}


class ActionRunner:
    """Acts for every advertiser of one daemon. ``read_only(advertiser)`` returns why an advertiser may not be
    written to (every action a dry run), or None: the hook for analyst-only access (issue 8)."""

    def __init__(
        self,
        client: TikTokClient,
        journal: Journal,
        clock: Clock,
        settings: GuardSettings | None = None,
        *,
        read_only: Callable[[AdvertiserInfo], str | None] | None = None,
        on_taken: Callable[[Taken], None] | None = None,
    ) -> None:
        self.settings = settings or GuardSettings()
        self._journal = journal
        self._executor = Executor(client, journal, clock)
        self._read_only = read_only
        self._on_taken = on_taken

    async def act(
        self,
        info: AdvertiserInfo,
        transitions: Iterable[Transition],
        *,
        current: Snapshot,
        previous: Snapshot | None,
        changes: SnapshotDiff,
        polled: Iterable[Level],
        holds: Mapping[AlertKey, AlertState],
        now: datetime,
        poll_id: int | None = None,
    ) -> ActResult:
        """Everything above for one poll of ``info``'s advertiser. ``polled`` are the levels this poll read
        (other levels in ``current`` are carried over, so nothing is verified from them); ``holds`` are the
        stored override holds (see :func:`split_holds`). Raises only what stops the poll (auth, store)."""
        polled = frozenset(polled)
        failed: list[str] = []
        held: list[str] = []
        notes: list[str] = []
        # 1 settle entries a crash left pending, 2 verify what was written since the previous poll
        await self._reconcile(info, current, polled, now, failed, notes)
        since = recent_since(now, info.zone(), self.settings.override_hold)
        if previous is not None:
            since = min(since, previous.taken_at - SCHEDULE_REACH)
        recent = await self._journal.history(advertiser_id=info.id, since=since, limit=None)
        await self._verify(info, recent, current, previous, polled, now, failed, notes)
        # 3 manual overrides seen in the diff; expired holds
        stored = [override.from_state(s) for s in holds.values()]
        live = [h for h in stored if now < h.until]
        drop = tuple(k for k, s in holds.items() if now >= override.from_state(s).until)
        fresh = await self._overrides(info, changes, polled, now)
        for hold in fresh:
            held.append(f"{hold.key[0].value} {hold.key[1]}: manual override: {hold.describe()}")
        # 4 guards and 5 execute
        plans = planned_from(transitions)
        taken: list[Taken] = []
        if plans:
            taken = await self._decide_and_run(info, plans, recent, [*live, *fresh], now, held, poll_id)
        failed += [
            f"{t.planned.describe()} ({t.planned.who}): {t.reason}" for t in taken if t.outcome is Outcome.FAILED
        ]
        for t in taken:
            log.info("advertiser %s: %s", info.id, t.line())
            if self._on_taken is not None:
                self._on_taken(t)
        for note in notes:
            log.info("advertiser %s: %s", info.id, note)
        messages = [self._message(OpsKind.ACTION_FAILED, info, failed, now)] if failed else []
        if held:
            messages.append(self._message(OpsKind.ACTIONS_HELD, info, held, now))
        saves = tuple(override.to_state(h, info.id) for h in fresh)
        return ActResult(tuple(taken), tuple(messages), saves, drop, tuple(notes))

    async def _reconcile(
        self,
        info: AdvertiserInfo,
        current: Snapshot,
        polled: frozenset[Level],
        now: datetime,
        failed: list[str],
        notes: list[str],
    ) -> None:
        """Finish the pending entries of the advertiser from what this poll read (we hold the lease: none of
        them can still be in flight). A daily budget that has not taken effect yet stays pending."""
        for entry in await self._journal.history(advertiser_id=info.id, statuses=[ActionStatus.PENDING], limit=None):
            intent = entry.intent
            polled_level = intent.level in polled
            found = current.get(intent.level, intent.entity_id) if polled_level else None
            settled = verify.reconcile(entry, found, polled_level, now, info.currency)
            if settled is None:
                continue
            status, text = settled
            await self._journal.finish(entry.id, now, status, error=text)
            notes.append(f"journal #{entry.id}: {text}")
            if status is ActionStatus.FAILED:
                failed.append(f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id}: {text}")

    async def _verify(
        self,
        info: AdvertiserInfo,
        recent: Sequence[JournalEntry],
        current: Snapshot,
        previous: Snapshot | None,
        polled: frozenset[Level],
        now: datetime,
        failed: list[str],
        notes: list[str],
    ) -> None:
        """Compare the writes this poll is the first to see with what it read; note and tell a mismatch."""
        for entry in verify.to_verify(recent, previous.taken_at if previous else None, now):
            intent = entry.intent
            if intent.level not in polled:
                continue
            problem = verify.mismatch(entry, current.get(intent.level, intent.entity_id), info.currency)
            if problem is None:
                notes.append(f"journal #{entry.id} confirmed by the poll at {now:%H:%M} UTC")
                continue
            text = f"not confirmed by the poll at {now:%Y-%m-%d %H:%M} UTC: {problem}"
            await self._journal.note(entry.id, text)
            failed.append(f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id}: {text}")

    async def _overrides(
        self, info: AdvertiserInfo, changes: SnapshotDiff, polled: frozenset[Level], now: datetime
    ) -> list[Hold]:
        moved = [c for c in changes.changed if c.field in WRITABLE and c.key[0] in polled]
        if not moved:
            return []
        entries = await self._journal.history(
            advertiser_id=info.id,
            entity_id={c.key[1] for c in moved},
            statuses=[ActionStatus.SUCCEEDED],
            limit=None,
        )
        writes = override.latest_writes(entries)
        return override.detect(moved, writes, now, self.settings.override_hold, info.currency)

    async def _decide_and_run(
        self,
        info: AdvertiserInfo,
        plans: Sequence[Planned],
        recent: Sequence[JournalEntry],
        holds: Sequence[Hold],
        now: datetime,
        held: list[str],
        poll_id: int | None,
    ) -> list[Taken]:
        pending = await self._journal.history(advertiser_id=info.id, statuses=[ActionStatus.PENDING], limit=None)
        entries = {e.id: e for e in [*recent, *pending]}
        facts = collect(entries.values(), holds, now, info.zone(), self.settings.override_hold)
        read_only = self._read_only(info) if self._read_only is not None else None
        ctx = GuardContext(now, info.zone(), info.currency, self.settings, facts, read_only)
        result = decide(plans, ctx)
        held.extend(result.problems)
        return await self._executor.run(info.id, result.decisions, poll_id)

    def _message(self, kind: OpsKind, info: AdvertiserInfo, lines: list[str], now: datetime) -> OperationalMessage:
        return OperationalMessage(
            kind=kind,
            subject=info.id,
            detail="; ".join(lines),
            since=now,
            now=now,
            advertiser=Account(info.id, info.name, info.currency, info.timezone),
        )


def split_holds(states: Mapping[AlertKey, AlertState]) -> tuple[dict[AlertKey, AlertState], dict[AlertKey, AlertState]]:
    """Separate stored override holds from the rules' alert states (the lifecycle must see only the latter)."""
    rules = {k: s for k, s in states.items() if not override.is_hold(k[0])}
    holds = {k: s for k, s in states.items() if override.is_hold(k[0])}
    return rules, holds


__all__ = ["ActResult", "ActionRunner", "split_holds"]
