"""Deciding an approval (:mod:`monitor.domain.approvals`): carry a rule's waiting action out, or drop it.

:func:`approve` first *claims* the approval (``Approvals.claim``: a conditional update of a pending, unexpired
one), so of two people (or two replicas) approving at once exactly one goes on; the other is told who did. Then,
like ``revert`` (:mod:`monitor.actions.revert`), it holds the advertiser's poll lease, reads the entity afresh
from the API and re-runs every guard at that moment: :func:`~monitor.actions.guard.decide` with the journal's
facts and the live holds (manual overrides apply: it is still the rule's action), ``max_change_per_day``, the
kill switch, and the fleet-wide circuit breaker (:class:`~monitor.actions.breaker.Breaker`, which journals the
write it admits). A write that goes is journaled with ``approved_by`` and carried out by the
:class:`~monitor.actions.execute.Executor`; the approval ends ``approved`` with the journal entry and outcome. A
guard that now says no ends it ``blocked``, with the guard's reason (nothing written). When the lease cannot be
had within ``wait`` (a poll of the advertiser runs long), or the API or the store fails before an outcome is
recorded, the claim is given back: the approval is pending again (the result says why). A cancellation (Ctrl-C of
``approvals approve``, the shutdown of a daemon whose Slack button or status page ran it), even one that comes while
the claim's COMMIT lands, does the same, through the cancellation (``record_to_the_end``); but when the journal shows
a write this approval made, the approval is settled with it instead: never left claimed and undecided for good.

:func:`reject` claims it as rejected: nothing is written.

:func:`~monitor.actions.expiry.expire_due` (the daemon's expiry job, and ``once``'s) drops the approvals that
expired: a module of its own, so a poll loads none of the above.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.actions.base import BUDGET_TYPES, GuardSettings, Planned, Taken
from monitor.actions.breaker import Breaker
from monitor.actions.execute import Executor
from monitor.actions.expiry import described
from monitor.actions.facts import collect, recent_since
from monitor.actions.guard import GuardContext
from monitor.actions.revert import LEASE_RETRY_SECONDS, advertiser_info
from monitor.clock import Clock
from monitor.domain import Outcome
from monitor.domain.approvals import Approval, ApprovalState
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.rules.model import Action as RuleAction
from monitor.store.commit_wait import record_limit, record_to_the_end
from monitor.store.errors import LeaseHeldError
from monitor.store.repo import Store
from monitor.store.values import ActionStatus
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS, AdvertiserInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalResult:
    """``ok``: the decision was made (approved and tried, or rejected); False: refused (no such approval, expired,
    decided already, a poll held the lease). ``message`` is for people; ``approval`` is as it is now (None: no
    such id); ``taken`` what became of the action (approve only)."""

    ok: bool
    message: str
    approval: Approval | None = None
    taken: Taken | None = None


async def reject(approval_id: str, *, store: Store, clock: Clock, by: str) -> ApprovalResult:
    """Reject approval ``approval_id`` as ``by``: its action is dropped, nothing is written."""
    now = clock.now()
    current = await store.approvals.get(approval_id)
    if current is None or current.refusal(now) is not None:
        return await _refusal(store, approval_id, "rejected", current, now)
    claimed = await store.approvals.claim(approval_id, ApprovalState.REJECTED, by=by, now=now)
    if claimed is None:
        return await _refusal(store, approval_id, "rejected", None, now)
    settled = await store.approvals.settle(approval_id, ApprovalState.REJECTED, outcome=f"rejected by {by}")
    return ApprovalResult(True, f"approval {described(claimed)} rejected by {by}: nothing was written", settled)


async def approve(
    approval_id: str,
    *,
    store: Store,
    client: TikTokClient,
    clock: Clock,
    settings: GuardSettings,
    by: str,
    wait: float = 30.0,
) -> ApprovalResult:
    """Approve ``approval_id`` as ``by`` and carry its action out through the guards (see the module docstring).
    ``wait``: how long to wait for a running poll of the advertiser to finish."""
    now = clock.now()
    current = await store.approvals.get(approval_id)
    if current is None or current.refusal(now) is not None:
        return await _refusal(store, approval_id, "approved", current, now)
    try:
        claimed = await store.approvals.claim(approval_id, ApprovalState.APPROVED, by=by, now=now)
        if claimed is None:  # someone else decided it first (or it expired meanwhile)
            return await _refusal(store, approval_id, "approved", None, now)
        try:
            return await _under_lease(claimed, store, client, clock, settings, by, wait)
        except Exception as exc:  # the API or the store failed before a result was recorded: undecided again
            await store.approvals.unclaim(approval_id, by)
            log.warning("approval %s by %s not carried out: %s: %s", approval_id, by, type(exc).__name__, exc)
            return ApprovalResult(
                False,
                f"not approved: {type(exc).__name__}: {exc}; approval #{approval_id} is pending again (unless the "
                "journal shows a write: tiktok-monitor history)",
                await store.approvals.get(approval_id),
            )
    except asyncio.CancelledError:  # cut short, maybe while the claim's COMMIT landed: never left claimed for good
        await record_to_the_end(_cut_short(store, approval_id, by, now), record_limit(store.engine))
        raise


async def _under_lease(
    claimed: Approval, store: Store, client: TikTokClient, clock: Clock, settings: GuardSettings, by: str, wait: float
) -> ApprovalResult:
    """Hold the advertiser's lease (waiting up to ``wait`` for a poll) and carry the claimed approval out."""
    info = await advertiser_info(store, client, claimed.advertiser_id)
    waited = 0.0
    while True:
        try:
            async with store.journal.lease(
                claimed.advertiser_id, f"{store.owner} (approval)", clock.now(), store.lease_ttl
            ):
                return await _carry_out(claimed, info, store, client, clock, settings, by)
        except LeaseHeldError as exc:
            if waited >= wait:
                await store.approvals.unclaim(claimed.id, by)
                return ApprovalResult(
                    False,
                    f"not approved: a poll of advertiser {claimed.advertiser_id} runs ({exc}); approval "
                    f"#{claimed.id} is pending again: try again in a minute",
                    await store.approvals.get(claimed.id),
                )
        await asyncio.sleep(LEASE_RETRY_SECONDS)
        waited += LEASE_RETRY_SECONDS


async def _carry_out(
    approval: Approval,
    info: AdvertiserInfo,
    store: Store,
    client: TikTokClient,
    clock: Clock,
    settings: GuardSettings,
    by: str,
) -> ApprovalResult:
    now = clock.now()
    change = approval.change
    windows = {"today": ("spend",), "lifetime": ("spend",)} if change.type in BUDGET_TYPES else {}
    plan = FetchPlan({approval.level: LevelPlan(DEFAULT_FIELDS.get(approval.level, ()), windows)})
    fetched = await fetch_snapshot(client, info, plan, now)
    entity = next((s for s in fetched.states if s.id == approval.entity_id and s.level is approval.level), None)
    values = ", ".join(f"{k} = {v}" for k, v in approval.reason.items())
    planned = Planned(
        type=change.type,
        level=approval.level,
        entity_id=approval.entity_id,
        entity=entity,
        reason=f"fired at {approval.requested_at:%Y-%m-%d %H:%M} UTC" + (f" ({values})" if values else ""),
        rule=approval.rule,
        action=RuleAction(change.type, change.by, change.to, change.min, change.max),
        approved_by=by,
    )
    zone = info.zone()
    recent = await store.journal.history(advertiser_id=info.id, since=recent_since(now, zone), limit=None)
    pending = await store.journal.history(advertiser_id=info.id, statuses=[ActionStatus.PENDING], limit=None)
    holds = await store.holds.active(info.id, now)
    facts = collect({e.id: e for e in [*recent, *pending]}.values(), holds, now, zone)
    ctx = GuardContext(now, zone, info.currency, settings, facts)
    result, begun = await Breaker(store.breaker, clock, settings).decide(info.id, [planned], ctx)
    taken = (await Executor(client, store.journal, clock).run(info.id, result.decisions, None, begun))[0]
    if taken.outcome is Outcome.SKIPPED:
        settled = await store.approvals.settle(approval.id, ApprovalState.BLOCKED, outcome=f"blocked: {taken.reason}")
        text = f"approval {described(approval)} approved by {by} but not carried out: a guard said no: {taken.reason}"
        return ApprovalResult(False, text, settled, taken)
    word = {Outcome.DONE: "done", Outcome.DRY_RUN: "dry run"}.get(taken.outcome, "failed")
    outcome = f"{word}: {taken.reason}"
    settled = await store.approvals.settle(
        approval.id, ApprovalState.APPROVED, outcome=outcome, journal_id=taken.journal_id
    )
    where = f" (journal #{taken.journal_id})" if taken.journal_id is not None else ""
    text = f"approval {described(approval)} approved by {by}: {word}{where}: {taken.reason}"
    return ApprovalResult(taken.outcome in (Outcome.DONE, Outcome.DRY_RUN), text, settled, taken)


async def _cut_short(store: Store, approval_id: str, by: str, claimed_at: datetime) -> None:
    """After a cancellation: an approval ``by`` claimed and left undecided is settled with the write it journaled
    (since ``claimed_at``), or, none, given back (pending again)."""
    approval = await store.approvals.get(approval_id)
    if approval is None or approval.state is not ApprovalState.APPROVED or approval.decided_by != by:
        return  # not claimed (the claim never landed), or another's
    if approval.outcome is not None:
        return  # settled already
    entries = await store.journal.history(
        advertiser_id=approval.advertiser_id, entity_id=approval.entity_id, since=claimed_at, limit=None
    )
    made = next((e for e in entries if e.intent.approved_by == by and e.intent.rule == approval.rule), None)
    if made is None:
        await store.approvals.unclaim(approval_id, by)
        log.warning("approval %s by %s cut short before any write: pending again", approval_id, by)
        return
    outcome = f"cut short after journal #{made.id} ({made.status.value}): tiktok-monitor history says how it went"
    await store.approvals.settle(approval_id, ApprovalState.APPROVED, outcome=outcome, journal_id=made.id)


async def _refusal(
    store: Store, approval_id: str, verb: str, approval: Approval | None, now: datetime
) -> ApprovalResult:
    """The answer for an approval that cannot be decided (any more): no such id, expired, decided already."""
    approval = approval or await store.approvals.get(approval_id)
    if approval is None:
        return ApprovalResult(False, f"not {verb}: there is no approval #{approval_id}")
    reason = approval.refusal(now) or f"approval #{approval_id} could not be claimed"
    return ApprovalResult(False, f"not {verb}: {reason}", approval)
