"""Every change a person makes from a front end (the command line, the status page, Slack buttons), in one place.

Front ends parse what a person asked for and say the answer; the rules of each change live here, so a silence
made from Slack is the same as one made by ``silence add``, and a revert from the page goes through the same
guards and journal as ``tiktok-monitor revert``. Each change takes ``by``, who made it (``alice``, ``slack:U123
(alice)``, ``page:bob``), and records it with the change: a silence's ``created_by``, the reason journaled with a
revert, ``approved_by`` in the journal and ``decided_by`` of an approval. Every method works on the database
(and, for reverts and approvals, the API under the advertiser's lease), so any replica (or a command beside
``run``) can make the change. ``silence add | expire``, ``revert`` and ``approvals approve | reject`` use it; so
do the status page and the Slack buttons.

Approvals (:mod:`monitor.domain.approvals`), for the CLI, the status page and Slack buttons::

    result = await steering.approve("4821-1", by="slack:U123 (alice)")   # -> ApprovalResult(ok, message, ...)
    result = await steering.reject("4821-1", by="page:bob")
    await store.approvals.pending(now)          # what is waiting (read directly from the store)
    await store.approvals.get("4821-1")         # one, in any state

``approve`` re-runs every guard at that moment and writes through the journal (see
:mod:`monitor.actions.approve`); two people approving one id at once write once (the loser's result says who
won). Neither raises for an approval that cannot be decided: ``result.ok`` is False and ``result.message`` says
why (no such id, expired, already approved/rejected/blocked).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.actions import approve as approving
from monitor.actions.approve import ApprovalResult
from monitor.actions.base import GuardSettings
from monitor.actions.revert import RevertResult, revert
from monitor.clock import Clock
from monitor.domain import Matcher, Silence
from monitor.store.repo import Store
from monitor.tiktok.client import TikTokClient

#: the longest silence: longer ones cannot be meant (a rule that should stay quiet gets enabled = false)
LONGEST = timedelta(days=366)
#: the client of the token account that polls an advertiser (wiring.client_of_advertiser on a session)
ClientOf = Callable[[str], Awaitable[TikTokClient]]


class SteeringError(ValueError):
    """A change that cannot be made as asked (no such silence, a silence that ends before it starts); the
    message says why, for people."""


@dataclass(frozen=True)
class Expired:
    """The answer to :meth:`Steering.expire_silence`: the silence as it is now, whether this call ended it (False:
    it had ended already), and when it was to end."""

    silence: Silence
    ended_now: bool
    was_to_end: datetime


class Steering:
    """The changes people make: silences (add, expire), reverts of journaled actions and decisions on approvals
    (approve, reject), each recorded with who made it. ``client_of`` gives the API client for an advertiser (needed
    by reverts and approvals)."""

    def __init__(self, store: Store, clock: Clock, guard_settings: GuardSettings, client_of: ClientOf) -> None:
        self._store = store
        self._clock = clock
        self._guards = guard_settings
        self._client_of = client_of

    async def add_silence(
        self,
        matchers: Sequence[Matcher],
        *,
        by: str,
        ends_at: datetime | None = None,
        duration: timedelta | None = None,
        starts_at: datetime | None = None,
        comment: str | None = None,
    ) -> Silence:
        """Store a silence of ``matchers`` from ``starts_at`` (default now) until ``ends_at`` or for ``duration``
        (one of them); returns it with its id. Raises :class:`SteeringError` for one that cannot be made."""
        now = self._clock.now()
        start = starts_at or now
        if (ends_at is None) == (duration is None):
            raise SteeringError("say how long the silence lasts: a duration or an end time (one of them)")
        end = ends_at if ends_at is not None else start + (duration or timedelta(0))
        if not matchers:
            raise SteeringError("a silence needs at least one matcher")
        if end <= start or end <= now:
            raise SteeringError("the silence would end before it starts (or has ended already)")
        if end - start > LONGEST:
            raise SteeringError("a silence of more than 366 days cannot be meant: disable the rule (enabled = false)")
        silence = Silence(tuple(matchers), start, end, by, comment or None)
        return await self._store.silences.add(silence, now)

    async def expire_silence(self, silence_id: int, *, by: str) -> Expired:
        """End silence ``silence_id`` now (its alerts notify and act again from the next poll). Raises
        :class:`SteeringError` when there is no such silence."""
        now = self._clock.now()
        before = await self._store.silences.get(silence_id)
        if before is None:
            raise SteeringError(f"no silence #{silence_id}")
        if before.ends_at <= now:
            return Expired(before, ended_now=False, was_to_end=before.ends_at)
        after = await self._store.silences.expire(silence_id, now, by=by)
        return Expired(after or before, ended_now=True, was_to_end=before.ends_at)

    async def approve(self, approval_id: str, *, by: str) -> ApprovalResult:
        """Approve the waiting action ``approval_id`` as ``by``: re-run the guards now and, if they let it, write it
        through the journal (recording ``by`` as ``approved_by``); see :func:`monitor.actions.approve.approve`."""
        approval = await self._store.approvals.get(str(approval_id))
        if approval is None:
            return ApprovalResult(False, f"not approved: there is no approval #{approval_id}")
        client = await self._client_of(approval.advertiser_id)
        return await approving.approve(
            str(approval_id), store=self._store, client=client, clock=self._clock, settings=self._guards, by=by
        )

    async def reject(self, approval_id: str, *, by: str) -> ApprovalResult:
        """Reject the waiting action ``approval_id`` as ``by``: it is dropped, nothing is written."""
        return await approving.reject(str(approval_id), store=self._store, clock=self._clock, by=by)

    async def revert(self, journal_id: int, *, by: str, dry_run: bool = False) -> RevertResult:
        """Undo journal entry ``journal_id`` through the guards, journaled with who asked (see
        :func:`monitor.actions.revert.revert`); the result's message is for people."""
        entry = await self._store.journal.get(journal_id)
        if entry is None:
            return RevertResult(False, f"not reverted: there is no journal entry #{journal_id}")
        client = await self._client_of(entry.intent.advertiser_id)
        return await revert(
            journal_id,
            store=self._store,
            client=client,
            clock=self._clock,
            settings=self._guards,
            dry_run=dry_run,
            by=by,
        )


__all__ = ["ApprovalResult", "ClientOf", "Expired", "Steering", "SteeringError"]
