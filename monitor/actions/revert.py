"""``tiktok-monitor revert ID``: put back the state a journaled action changed, through the same guard rails.

The entry must have succeeded, not be a dry run, and not be reverted already. The revert holds the
advertiser's poll lease (so it never races a poll), reads the entity afresh from the API (status, budget, and
for budgets today's and lifetime spend), asks the guards (:func:`~monitor.actions.guard.decide`: kill switch,
pending writes, idempotence, budget rules, ``max_change_per_day``; manual-override holds do not apply, a revert
*is* a person's decision) and writes through the same executor, journaled with ``reverts`` = ID. Once the write
succeeded, the revert stores a hold (by "revert #<its journal id>", in its own transaction, still under the
lease): rules leave that field of the entity alone for ``override_hold``. The next poll verifies the write (and,
should the revert have died before it stored its hold, makes the hold when it settles the write).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from monitor.actions.base import BUDGET, STATUS, GuardSettings, Planned, Taken
from monitor.actions.execute import Executor
from monitor.actions.facts import collect, recent_since, written
from monitor.actions.guard import GuardContext, decide
from monitor.actions.override import revert_hold
from monitor.clock import Clock
from monitor.domain import Outcome
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.store.errors import LeaseHeldError
from monitor.store.repo import Store
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS, AdvertiserInfo

LEASE_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class RevertResult:
    """``ok``: the revert was made (or, with ``--dry-run``, would be). ``message`` is for people."""

    ok: bool
    message: str
    taken: Taken | None = None


def refusal(entry: JournalEntry | None, entry_id: int, reverted_by: list[JournalEntry]) -> str | None:
    """Why an entry cannot be reverted (None: it can)."""
    if entry is None:
        return f"there is no journal entry #{entry_id}"
    if entry.intent.dry_run:
        return f"#{entry_id} was a dry run: nothing was changed"
    if entry.status is ActionStatus.PENDING:
        return f"#{entry_id} has no known outcome yet: the next poll settles it, then revert it"
    if entry.status is not ActionStatus.SUCCEEDED:
        return f"#{entry_id} {entry.status.value}: nothing was changed"
    if reverted_by:
        return f"#{entry_id} was already reverted by #{reverted_by[0].id}"
    name = written(entry)
    if name is None or entry.intent.before.get(name) is None:
        return f"#{entry_id} does not record the {name or 'state'} it replaced"
    if name == STATUS and entry.intent.before[STATUS] not in ("ENABLE", "DISABLE"):
        return f"#{entry_id} replaced operation_status {entry.intent.before[STATUS]}, which cannot be set back"
    return None


async def revert(
    entry_id: int,
    *,
    store: Store,
    client: TikTokClient,
    clock: Clock,
    settings: GuardSettings,
    dry_run: bool = False,
    wait: float = 30.0,
    by: str | None = None,
) -> RevertResult:
    """Revert journal entry ``entry_id`` (see the module docstring). ``wait``: how long to wait for a running
    poll of the advertiser to finish; ``by``: who asked (journaled in the revert's reason)."""
    journal = store.journal
    entry = await journal.get(entry_id)
    reverted_by = await journal.history(
        reverts=entry_id, statuses=[ActionStatus.SUCCEEDED, ActionStatus.PENDING], limit=1
    )
    problem = refusal(entry, entry_id, reverted_by)
    if problem or entry is None:
        return RevertResult(False, f"not reverted: {problem}")
    intent = entry.intent
    info = await advertiser_info(store, client, intent.advertiser_id)
    waited = 0.0
    while True:
        now = clock.now()
        try:
            async with journal.lease(intent.advertiser_id, f"{store.owner} (revert)", now, store.lease_ttl):
                return await _revert(entry, info, store, client, clock, settings, dry_run, by)
        except LeaseHeldError as exc:
            if waited >= wait:
                return RevertResult(False, f"not reverted: a poll of advertiser {intent.advertiser_id} runs ({exc})")
        await asyncio.sleep(LEASE_RETRY_SECONDS)
        waited += LEASE_RETRY_SECONDS


async def _revert(
    entry: JournalEntry,
    info: AdvertiserInfo,
    store: Store,
    client: TikTokClient,
    clock: Clock,
    settings: GuardSettings,
    dry_run: bool,
    by: str | None,
) -> RevertResult:
    intent = entry.intent
    name = written(entry)
    now = clock.now()
    windows = {"today": ("spend",), "lifetime": ("spend",)} if name == BUDGET else {}
    plan = FetchPlan({intent.level: LevelPlan(DEFAULT_FIELDS.get(intent.level, ()), windows)})
    fetched = await fetch_snapshot(client, info, plan, now)
    entity = next((s for s in fetched.states if s.id == intent.entity_id and s.level is intent.level), None)
    old = intent.before[name or STATUS]
    kind = ("enable" if old == "ENABLE" else "pause") if name == STATUS else "set_budget"
    planned = Planned(
        type=kind,
        level=intent.level,
        entity_id=intent.entity_id,
        entity=entity,
        reason=f"{intent.action}"
        + (f" by rule {intent.rule}" if intent.rule else "")
        + " undone on request"
        + (f" of {by}" if by else ""),
        rule=intent.rule,
        dry_run=dry_run,
        reverts=entry.id,
        to=float(old) if name == BUDGET else None,
    )
    zone = info.zone()
    recent = await store.journal.history(advertiser_id=info.id, since=recent_since(now, zone), limit=None)
    pending = await store.journal.history(advertiser_id=info.id, statuses=[ActionStatus.PENDING], limit=None)
    facts = collect({e.id: e for e in [*recent, *pending]}.values(), [], now, zone)  # holds do not apply
    result = decide([planned], GuardContext(now, zone, info.currency, settings, facts))
    taken = (await Executor(client, store.journal, clock).run(info.id, result.decisions))[0]
    if taken.outcome is Outcome.DONE and taken.journal_id is not None:
        await _hold(store, taken.journal_id, settings, clock)
    where = f" (journal #{taken.journal_id})" if taken.journal_id is not None else ""
    request = f" [request_id {taken.request_id}]" if taken.request_id else ""
    words = {Outcome.DONE: "reverted", Outcome.DRY_RUN: "dry run", Outcome.SKIPPED: "not reverted"}
    word = words.get(taken.outcome, "revert failed")
    message = f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id}: {word}{where}: {taken.reason}"
    return RevertResult(taken.outcome in (Outcome.DONE, Outcome.DRY_RUN), message + request, taken)


async def _hold(store: Store, journal_id: int, settings: GuardSettings, clock: Clock) -> None:
    """Store the hold of the revert journaled as ``journal_id`` (it succeeded)."""
    written_by = await store.journal.get(journal_id)
    hold = revert_hold(written_by, settings.override_hold) if written_by is not None else None
    now = clock.now()
    if hold is not None and hold.live(now):
        await store.holds.add([hold], now)


async def advertiser_info(store: Store, client: TikTokClient, advertiser_id: str) -> AdvertiserInfo:
    """Time zone and currency as the last poll stored them, else from advertiser/info."""
    record = await store.advertiser(advertiser_id)
    if record is not None and record.timezone and record.currency:
        return AdvertiserInfo(advertiser_id, record.name or "", record.status, record.currency, record.timezone)
    infos = await client.advertiser_info([advertiser_id])
    found = next((i for i in infos if i.id == advertiser_id), None)
    return found or AdvertiserInfo(advertiser_id, "", None, None, None)
