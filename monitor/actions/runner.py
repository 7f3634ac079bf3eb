"""Step 6 of a poll, "act": settle the past, then decide and carry out what the rules ask for.

:meth:`ActionRunner.act` runs inside the poll's block, under the advertiser's lease (no other poll or revert
writes to the advertiser meanwhile), after the lifecycle and before the notifications:

1. **reconcile** (:mod:`settle`): journal entries left pending by a crash are settled from what this poll read
   (never retried); a revert found to have succeeded makes the hold the crash kept it from storing;
2. **verify** (:mod:`settle`): writes the previous poll (or a revert since) made are compared with what this poll
   read; a mismatch is noted in the journal and told as an ``action_failed`` operational message; a confirmed
   revert whose hold is not stored (cut short after its answer was journaled) makes it;
3. **overrides**: the diff shows a person undoing the monitor's change: a new :class:`~monitor.domain.Hold` is
   returned for the poll to store (ending the stored hold of the same field it replaces) and told as
   ``actions_held``. A hold that ran out needs nothing: it is no longer live;
4. **approvals** (:mod:`queue`): a write of a rule with ``approve`` that the guards would let go waits for a
   person instead: a pending :class:`~monitor.domain.approvals.Approval` (one per alert) for the poll to store,
   reported "awaiting approval" with how to approve;
5. **guards** (:mod:`guard`) decide on every action the lifecycle asks for, with the journal's facts and the
   live holds (the stored ones the pipeline passes in, and this poll's new ones), and the fleet-wide circuit
   breaker (:mod:`breaker`), which journals the writes it admits, atomically with its count;
6. **execute** (:mod:`execute`): journal before, API call, journal after; failures told as ``action_failed``,
   conflicts as ``actions_held`` (the breaker tells its own ``actions_held`` once per opening).

The journal is written in its own transactions (a write that reached TikTok stays recorded even if the poll
then fails); new and ended holds, alert states and every message commit with the poll. If the poll fails after
writing (or its deadline cancels it), its alert states roll back: the next poll sees the rule fire again and the
guards find the rule's write made by the poll that did not commit (``facts.uncommitted``): not made twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.actions import override
from monitor.actions.base import WRITABLE, GuardSettings, Planned, Taken, planned_from
from monitor.actions.facts import collect, recent_since, uncommitted
from monitor.actions.settle import Settling
from monitor.clock import Clock
from monitor.domain import Account, EntityKey, Hold, Level, OpsKind, Outcome, Snapshot
from monitor.domain.approvals import Approval
from monitor.notify.message import Action as MessageAction
from monitor.notify.message import OperationalMessage
from monitor.rules.lifecycle import Transition
from monitor.store.diff import SnapshotDiff
from monitor.store.journal import Journal
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserInfo

if TYPE_CHECKING:
    from monitor.actions.breaker import Breaker
    from monitor.actions.execute import Executor
    from monitor.actions.guard import GuardContext
    from monitor.actions.queue import Queued

log = logging.getLogger(__name__)

#: A daily ad-group budget shows a day after it was written, at most 25 hours (a DST day) later.
SCHEDULE_REACH = timedelta(hours=26)


@dataclass(frozen=True)
class ActResult:
    """What the act step did, and what the poll commits for it: ``save_holds`` are the holds it made,
    ``end_holds`` the ids of stored holds they replace (to end now), ``approvals`` the actions now waiting for a
    person."""

    taken: tuple[Taken, ...] = ()
    messages: tuple[OperationalMessage, ...] = ()
    save_holds: tuple[Hold, ...] = ()
    end_holds: tuple[int, ...] = ()
    approvals: tuple[Approval, ...] = ()  # new approvals to store with the poll
    notes: tuple[str, ...] = field(default=(), compare=False)  # reconciled and verified writes, for the log

    def outcomes(self) -> dict[tuple[str, str], MessageAction]:
        """(rule, entity id) -> what its action did, for the alert messages."""
        return {(t.planned.rule, t.planned.entity_id): t.message_action() for t in self.taken if t.planned.rule}


class ActionRunner:
    """Acts for every advertiser of one daemon. ``read_only(advertiser)`` returns why an advertiser may not be
    written to (every action a dry run), or None: the hook for analyst-only access (issue 8). ``breaker``: the
    fleet-wide circuit breaker (None: no limit on writes, for tests of the other guards). ``executor`` carries
    the decisions out (default: journal, API call, journal; a preview's writes nothing). The guards and the
    default executor are loaded at the first write: a poll whose rules only notify never needs them (issue 18)."""

    def __init__(
        self,
        client: TikTokClient,
        journal: Journal,
        clock: Clock,
        settings: GuardSettings | None = None,
        *,
        read_only: Callable[[AdvertiserInfo], str | None] | None = None,
        on_taken: Callable[[Taken], None] | None = None,
        breaker: Breaker | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings or GuardSettings()
        self.breaker = breaker
        self._client = client
        self._journal = journal
        self._clock = clock
        self._executor = executor
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
        holds: Iterable[Hold],
        now: datetime,
        poll_id: int | None = None,
        waiting: Sequence[Approval] = (),
    ) -> ActResult:
        """Everything above for one poll of ``info``'s advertiser. ``polled`` are the levels this poll read
        (other levels in ``current`` are carried over, so nothing is verified from them); ``holds`` are the
        advertiser's live holds as stored (``Store.holds.active``); ``waiting`` its pending approvals
        (``Store.approvals.waiting``). Raises only what stops the poll (auth, store)."""
        transitions, holds = tuple(transitions), tuple(holds)
        polled = frozenset(polled)
        held: list[str] = []
        # 1 settle entries a crash left pending, 2 verify what was written since the previous poll (settle.py)
        settling = Settling(self._journal, self.settings.override_hold, info, current, polled, now)
        failed, notes, made = settling.failed, settling.notes, settling.made
        since = recent_since(now, info.zone())
        if previous is not None:
            since = min(since, previous.taken_at - SCHEDULE_REACH)
        read = await self._journal.recent_and_pending(info.id, since)  # one read for both
        pending = [e for e in read if e.status is ActionStatus.PENDING]
        if await settling.reconcile(pending):
            recent = await self._journal.history(advertiser_id=info.id, since=since, limit=None)  # as settled
        else:
            recent = [e for e in read if e.created_at >= since]
        await settling.verify(recent, previous, holds)
        # 3 manual overrides seen in the diff: a new hold replaces the stored one of the same field
        fresh = await self._overrides(info, current, changes, polled, now)
        for hold in fresh:
            held.append(f"{hold.key[0].value} {hold.key[1]}: manual override: {hold.describe()}")
        made += fresh
        replaced = {(h.key, h.field) for h in fresh}
        stored = [h for h in holds if h.live(now)]
        ended = tuple(h.id for h in stored if h.id is not None and (h.key, h.field) in replaced)
        # 4 approvals, 5 guards and 6 execute
        plans = planned_from(transitions)
        taken: list[Taken] = []
        approvals: tuple[Approval, ...] = ()
        if plans:
            values = {(t.rule.name, t.alert.level, t.alert.entity_id): t.alert.values for t in transitions}
            undone = uncommitted(recent, previous.poll_id if previous else None, poll_id)  # rules fire again for them
            queued, ctx = await self._queue(
                info, plans, recent, [*stored, *made], now, waiting, values, poll_id, undone
            )
            taken, approvals = list(queued.taken), queued.approvals
            if queued.rest:
                taken += await self._decide_and_run(info, queued.rest, ctx, held, poll_id)
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
        return ActResult(tuple(taken), tuple(messages), tuple(made), ended, approvals, tuple(notes))

    async def _overrides(
        self, info: AdvertiserInfo, current: Snapshot, changes: SnapshotDiff, polled: frozenset[Level], now: datetime
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
        who = {c.key: state.changed_by for c in moved if (state := current.entities.get(c.key)) is not None}
        return override.detect(moved, writes, now, self.settings.override_hold, info.currency, who)

    async def _queue(
        self,
        info: AdvertiserInfo,
        plans: Sequence[Planned],
        recent: Sequence[JournalEntry],
        holds: Sequence[Hold],
        now: datetime,
        waiting: Sequence[Approval],
        values: Mapping[tuple[str, Level, str], Mapping[str, Any]],
        poll_id: int | None,
        undone: Mapping[tuple[str, EntityKey, str], JournalEntry],
    ) -> tuple[Queued, GuardContext]:
        """The guards' context of this poll (``undone``: the rules' writes by polls that did not commit), and the
        writes of rules with ``approve`` queued for a person."""
        from monitor.actions.guard import GuardContext, decide
        from monitor.actions.queue import Queued, queue

        pending = await self._journal.history(advertiser_id=info.id, statuses=[ActionStatus.PENDING], limit=None)
        entries = {e.id: e for e in [*recent, *pending]}
        facts = dataclasses.replace(collect(entries.values(), holds, now, info.zone()), uncommitted=undone)
        read_only = self._read_only(info) if self._read_only is not None else None
        ctx = GuardContext(now, info.zone(), info.currency, self.settings, facts, read_only)
        if not any(p.approve is not None for p in plans):
            return Queued((), (), tuple(plans)), ctx
        preview = decide(plans, ctx)  # pure, no breaker: nothing is written now
        return queue(info.id, plans, preview.decisions, waiting, values, now, poll_id), ctx

    async def _decide_and_run(
        self,
        info: AdvertiserInfo,
        plans: Sequence[Planned],
        ctx: GuardContext,
        held: list[str],
        poll_id: int | None,
    ) -> list[Taken]:
        from monitor.actions.execute import Executor
        from monitor.actions.guard import decide

        if self.breaker is not None:
            result, begun = await self.breaker.decide(info.id, plans, ctx, poll_id)
        else:
            result, begun = decide(plans, ctx), {}
        held.extend(result.problems)
        if self._executor is None:
            self._executor = Executor(self._client, self._journal, self._clock)
        return await self._executor.run(info.id, result.decisions, poll_id, begun)

    def _message(self, kind: OpsKind, info: AdvertiserInfo, lines: list[str], now: datetime) -> OperationalMessage:
        return OperationalMessage(
            kind=kind,
            subject=info.id,
            detail="; ".join(lines),
            since=now,
            now=now,
            advertiser=Account(info.id, info.name, info.currency, info.timezone),
        )


__all__ = ["ActResult", "ActionRunner"]
