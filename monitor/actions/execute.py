"""Carrying decisions out: journal before, API call, journal after. The only module of ``actions/`` with I/O.

Writes of one kind are batched as the API allows (20 ids per status call, 20 ad groups per budget call, one
campaign per campaign/update); each write is journaled *before* its request goes out (status "pending": by the
circuit breaker when it admits the poll's writes, else just before the batch) and finished *after* the answer
(succeeded / failed, with TikTok's request_id and error). Upgraded Smart+ entities (``EntityState.smart_plus``)
are written through TikTok's smart_plus/* endpoints, in batches of their own. Dry runs are journaled as such
and sent nowhere; skipped actions are not journaled (their reason goes into the messages).

Crash semantics: a process that dies between "pending" and the answer leaves pending entries; the next poll of
the advertiser (under its lease, so no write can be in flight) reconciles them against what it reads, and they
are reported at start-up. Nothing is ever retried blindly. A cancellation (the poll deadline, the daemon's
shutdown) is no crash: TikTok's answer, once in, is journaled to the end of its COMMIT whatever cancellation comes
meanwhile (``record_to_the_end``, monitor.store.commit_wait), and the writes journaled but not sent yet are
journaled as not sent; only a request under way when the cancellation came is left pending, its outcome unknown.
The client's transport retries transient failures (HTTP 5xx, timeouts, codes 50000...) a few times; status and
budget writes set absolute values, so a repeat is harmless. An auth error stops the writes (and the poll); other
API errors fail only their batch. A write TikTok still throttles after the retries (40100, 40016 the app's limit
on one endpoint, 40133) was refused, so it is journaled as not written, saying which limit, and left to the next
poll.

TikTok's code for a budget it refuses (below its minimum, above its maximum, under 105 % of spend) is not
documented, so no code is singled out: every permanent error of a budget write is journaled as "TikTok refused
the budget: code N: <TikTok's message>", the message kept word for word (where the monitor does not know the
currency's minimum, TikTok's answer is what decides).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from monitor.actions.base import BUDGET, SCHEDULED_FROM, STATUS, Decision, Taken, Verdict
from monitor.clock import Clock
from monitor.domain import Level, Outcome
from monitor.store.commit_wait import record_to_the_end
from monitor.store.journal import NOT_SENT, NOT_SENT_CANCELLED, Journal
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry
from monitor.tiktok.client import WRITE_BATCH, TikTokClient
from monitor.tiktok.errors import AuthError, is_throttle_code, throttle_meaning
from monitor.tiktok.models import WriteResult


@dataclass
class _Batch:
    decisions: list[Decision]
    send: Callable[[], Awaitable[WriteResult]]


@dataclass(frozen=True)
class _Finish:
    """How one journaled write ended, to record."""

    entry: JournalEntry
    status: ActionStatus
    request_id: str | None
    error: str | None = None


class Executor:
    """Writes decisions for one advertiser through ``client``, journaling each in ``journal``."""

    def __init__(self, client: TikTokClient, journal: Journal, clock: Clock) -> None:
        self._client = client
        self._journal = journal
        self._clock = clock

    async def run(
        self,
        advertiser_id: str,
        decisions: Sequence[Decision],
        poll_id: int | None = None,
        begun: Mapping[int, JournalEntry] | None = None,
    ) -> list[Taken]:
        """One :class:`Taken` per decision, in the same order. ``begun``: the journal entries (pending) already
        written for some writes, by their position in ``decisions`` (the circuit breaker journals the writes it
        admits); the others are journaled here, before their request."""
        begun = begun or {}
        unsent = {entry.id: entry for entry in begun.values()}  # journaled, request not sent yet
        try:
            return await self._run(advertiser_id, decisions, poll_id, begun, unsent)
        except (AuthError, asyncio.CancelledError) as exc:  # the writes journaled and not sent did not happen
            error = f"{NOT_SENT}{exc}" if isinstance(exc, AuthError) else NOT_SENT_CANCELLED
            await self._record([_Finish(entry, ActionStatus.FAILED, None, error) for entry in unsent.values()])
            raise

    async def _run(
        self,
        advertiser_id: str,
        decisions: Sequence[Decision],
        poll_id: int | None,
        begun: Mapping[int, JournalEntry],
        unsent: dict[int, JournalEntry],
    ) -> list[Taken]:
        taken: dict[int, Taken] = {}
        for i, decision in enumerate(decisions):
            if decision.verdict is Verdict.SKIP:
                taken[i] = Taken(decision.planned, Outcome.SKIPPED, decision.reason)
            elif decision.verdict is Verdict.DRY_RUN:
                entry = await self._journal.begin(
                    intent_of(advertiser_id, decision, poll_id, dry=True), self._clock.now()
                )
                taken[i] = Taken(decision.planned, Outcome.DRY_RUN, decision.reason, entry.id)
        index = {id(d): i for i, d in enumerate(decisions)}
        for batch in self._batches(advertiser_id, [d for d in decisions if d.verdict is Verdict.GO]):
            entries = {id(d): begun[index[id(d)]] for d in batch.decisions if index[id(d)] in begun}
            results = await self._send(advertiser_id, batch, poll_id, entries, unsent)
            for decision, result in zip(batch.decisions, results, strict=True):
                taken[index[id(decision)]] = result
        return [taken[i] for i in range(len(decisions))]

    def _batches(self, advertiser_id: str, decisions: list[Decision]) -> list[_Batch]:
        groups: dict[tuple[str, Level, object, bool], list[Decision]] = {}
        for d in decisions:
            plan = d.planned
            smart = plan.entity is not None and plan.entity.smart_plus  # Upgraded Smart+: smart_plus/* endpoints
            if plan.field == STATUS:
                group = ("status", plan.level, d.after[STATUS], smart)
            elif plan.level is Level.CAMPAIGN:
                group = ("campaign", plan.level, plan.entity_id, smart)  # campaign/update: one campaign per call
            else:
                group = ("adgroup", plan.level, SCHEDULED_FROM in d.after, smart)
            groups.setdefault(group, []).append(d)
        client = self._client
        batches = []
        for (kind, level, what, smart), members in groups.items():
            for start in range(0, len(members), WRITE_BATCH):
                chunk = members[start : start + WRITE_BATCH]
                ids = [d.planned.entity_id for d in chunk]
                budgets = {d.planned.entity_id: float(d.after[BUDGET]) for d in chunk if BUDGET in d.after}
                if kind == "status":
                    send = _bind_kw(client.update_status, level, advertiser_id, ids, str(what), smart_plus=smart)
                elif kind == "campaign":
                    send = _bind_kw(
                        client.update_campaign_budget, advertiser_id, ids[0], budgets[ids[0]], smart_plus=smart
                    )
                else:
                    send = _bind_kw(
                        client.update_adgroup_budgets, advertiser_id, budgets, scheduled=bool(what), smart_plus=smart
                    )
                batches.append(_Batch(chunk, send))
        return batches

    async def _send(
        self,
        advertiser_id: str,
        batch: _Batch,
        poll_id: int | None,
        begun: Mapping[int, JournalEntry],
        unsent: dict[int, JournalEntry],
    ) -> list[Taken]:
        """Journal the batch's writes (those not ``begun``), send its request, journal TikTok's answer. ``unsent``:
        the entries journaled whose request has not gone out (this batch's leave it as its request goes)."""
        entries = []
        for d in batch.decisions:
            entry = begun.get(id(d)) or await self._journal.begin(
                intent_of(advertiser_id, d, poll_id), self._clock.now()
            )
            unsent[entry.id] = entry
            entries.append(entry)
        for entry in entries:
            del unsent[entry.id]
        try:
            result = await batch.send()
        except AuthError as exc:
            await self._record([_Finish(e, ActionStatus.FAILED, exc.request_id, str(exc)) for e in entries])
            raise
        failed = {i: f for f in result.failures for i in f.ids}
        request_id = result.request_ids[0] if result.request_ids else None
        out = []
        finishes = []
        for decision, entry in zip(batch.decisions, entries, strict=True):
            failure = failed.get(decision.planned.entity_id)
            if failure is None:
                finishes.append(_Finish(entry, ActionStatus.SUCCEEDED, request_id))
                out.append(Taken(decision.planned, Outcome.DONE, decision.reason, entry.id, request_id))
                continue
            code = f"code {failure.code}: " if failure.code is not None else ""
            error = f"{code}{failure.message}"
            if is_throttle_code(failure.code):  # refused, so not made; retried with back-off already, not again
                error += (
                    f" ({throttle_meaning(failure.code)}; not written, still throttled after the retries: "
                    "the next poll decides again; if it keeps happening, the app's limits need a person)"
                )
            elif failure.transient:
                error += " (still failing after retries; it may or may not have taken effect: see the next poll)"
            elif decision.planned.field == BUDGET:
                error = f"TikTok refused the budget: {error}"
            finishes.append(_Finish(entry, ActionStatus.FAILED, failure.request_id, error))
            out.append(Taken(decision.planned, Outcome.FAILED, error, entry.id, failure.request_id))
        await self._record(finishes)
        return out

    async def _record(self, finishes: Sequence[_Finish]) -> None:
        """Journal how the writes ended, each in its own transaction, to the end of the last COMMIT whatever
        cancellation comes meanwhile (then raised): what TikTok answered is never left "pending"."""

        async def finish_all() -> None:
            for f in finishes:
                now = self._clock.now()
                await self._journal.finish(f.entry.id, now, f.status, request_id=f.request_id, error=f.error)

        if finishes:
            await record_to_the_end(finish_all(), self._journal.record_limit)


def intent_of(advertiser_id: str, decision: Decision, poll_id: int | None, *, dry: bool = False) -> ActionIntent:
    """What the journal records of a decision."""
    plan = decision.planned
    return ActionIntent(
        advertiser_id=advertiser_id,
        level=plan.level,
        entity_id=plan.entity_id,
        action=plan.type,
        reason=f"{plan.who}: {plan.reason}; {decision.reason}",
        before=decision.before,
        after=decision.after,
        rule=plan.rule,
        dry_run=dry,
        poll_id=poll_id,
        reverts=plan.reverts,
        approved_by=plan.approved_by,
    )


def _bind(method: Callable[..., Awaitable[WriteResult]], *args: object) -> Callable[[], Awaitable[WriteResult]]:
    return lambda: method(*args)


def _bind_kw(
    method: Callable[..., Awaitable[WriteResult]], *args: object, **kw: object
) -> Callable[[], Awaitable[WriteResult]]:
    return lambda: method(*args, **kw)
