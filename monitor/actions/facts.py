"""What the guards need to know from the past: journal facts of the advertiser's day, manual-override holds, and
the circuit breaker's state and count (:class:`BreakerFacts`, read by :mod:`monitor.actions.breaker`).

:func:`collect` reduces journal entries and the live holds to :class:`Facts` (pure): the entries still pending,
each entity's budget writes of the current local day (for ``max_change_per_day``), and per field of an entity the
hold during which rules leave it alone; :func:`uncommitted` gives the rules' writes by polls that did not commit
(``Facts.uncommitted``). Holds (:class:`monitor.domain.Hold`) come from the store, which keeps them in their own
table: made by a poll that saw a person undo the monitor's change (:mod:`override`) or by ``tiktok-monitor
revert`` (:mod:`revert`); :func:`collect` takes them only from what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from monitor.actions.base import BUDGET, WRITABLE
from monitor.actions.budget import day_start
from monitor.domain import BreakerEpisode, EntityKey, Hold
from monitor.store.values import ActionStatus, JournalEntry

#: Entries that changed (or may have changed) something: a pending one may have reached TikTok.
WRITES = frozenset({ActionStatus.SUCCEEDED, ActionStatus.PENDING})


@dataclass(frozen=True)
class Facts:
    """Journal facts for one advertiser at one moment; empty by default."""

    pending: Mapping[tuple[EntityKey, str], JournalEntry] = field(default_factory=dict)  # per (entity, field)
    budget_today: Mapping[EntityKey, tuple[JournalEntry, ...]] = field(default_factory=dict)  # oldest first
    holds: Mapping[tuple[EntityKey, str], Hold] = field(default_factory=dict)
    #: per (rule, entity, field): that rule's write of it by a poll that did not commit (see :func:`uncommitted`)
    uncommitted: Mapping[tuple[str, EntityKey, str], JournalEntry] = field(default_factory=dict)

    def hold(self, key: EntityKey, name: str, now: datetime) -> Hold | None:
        found = self.holds.get((key, name))
        return found if found is not None and found.live(now) else None


@dataclass(frozen=True)
class BreakerFacts:
    """What the circuit breaker knows at ``now`` (read from the store under its lock): the real writes counted in
    the window, and the open episode (None: the breaker is closed)."""

    now: datetime
    writes: int = 0
    open: BreakerEpisode | None = None


def written(entry: JournalEntry) -> str | None:
    """The field an entry writes (None: neither status nor budget)."""
    return next((name for name in WRITABLE if name in entry.intent.after), None)


def is_write(entry: JournalEntry) -> bool:
    return not entry.intent.dry_run and entry.status in WRITES


def collect(entries: Iterable[JournalEntry], holds: Iterable[Hold], now: datetime, zone: tzinfo) -> Facts:
    """Reduce the advertiser's recent journal entries (any order) and its holds to :class:`Facts`. Of two holds
    on one field of one entity the one that ends later counts."""
    start = day_start(now, zone)
    pending: dict[tuple[EntityKey, str], JournalEntry] = {}
    today: dict[EntityKey, list[JournalEntry]] = {}
    held: dict[tuple[EntityKey, str], Hold] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        intent = entry.intent
        key = (intent.level, intent.entity_id)
        name = written(entry)
        if name and entry.status is ActionStatus.PENDING and not intent.dry_run:
            pending[(key, name)] = entry
        if name == BUDGET and is_write(entry) and entry.created_at >= start:
            today.setdefault(key, []).append(entry)
    for hold in holds:
        mine = held.get((hold.key, hold.field))
        if mine is None or hold.until > mine.until:
            held[(hold.key, hold.field)] = hold
    return Facts(pending, {k: tuple(v) for k, v in today.items()}, held)


def uncommitted(
    entries: Iterable[JournalEntry], committed_poll: int | None, this_poll: int | None
) -> dict[tuple[str, EntityKey, str], JournalEntry]:
    """The rules' writes (made, or maybe made) by polls of the advertiser after ``committed_poll`` (the poll of the
    stored snapshot; None: none committed yet), other than ``this_poll``: polls that did not commit (failed after
    their act step, or cancelled by their deadline). Their alert states rolled back, so their rules fire again at
    the next poll: the same firing, whose write is not to be made twice (a budget scaled by a share would be)."""
    found: dict[tuple[str, EntityKey, str], JournalEntry] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        intent, name = entry.intent, written(entry)
        poll = intent.poll_id
        if poll is None or poll == this_poll or (committed_poll is not None and poll <= committed_poll):
            continue
        if name and intent.rule and intent.reverts is None and is_write(entry):
            found[(intent.rule, (intent.level, intent.entity_id), name)] = entry
    return found


def recent_since(now: datetime, zone: tzinfo) -> datetime:
    """How far back :func:`collect` needs entries: the local day."""
    return day_start(now, zone)
