"""What the guards need to know from the past: journal facts of the advertiser's day, and manual-override holds.

:func:`collect` reduces journal entries to :class:`Facts` (pure): the entries still pending, each entity's budget
writes of the current local day (for ``max_change_per_day``), and the holds during which rules leave a field of
an entity alone. A hold comes from a person undoing the monitor's change: seen in the diff (:mod:`override`,
kept between polls as an alert state) or made with ``tiktok-monitor revert`` (found in the journal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from monitor.actions.base import BUDGET, STATUS, WRITABLE
from monitor.actions.budget import day_start
from monitor.domain import EntityKey
from monitor.store.values import ActionStatus, JournalEntry

#: Entries that changed (or may have changed) something: a pending one may have reached TikTok.
WRITES = frozenset({ActionStatus.SUCCEEDED, ActionStatus.PENDING})


@dataclass(frozen=True)
class Hold:
    """A person undid the monitor's change of ``field``: rules leave it alone until ``until``."""

    key: EntityKey
    field: str
    since: datetime
    until: datetime
    journal_id: int | None  # the monitor's entry that was undone
    value: Any  # what the person set
    by: str  # "a person" | "revert #13"

    def describe(self) -> str:
        what = "status" if self.field == STATUS else "budget"
        undone = f" after journal #{self.journal_id}" if self.journal_id is not None else ""
        return (
            f"{self.by} set it to {self.value} at {self.since:%Y-%m-%d %H:%M} UTC{undone}; rules leave its {what} "
            f"alone until {self.until:%Y-%m-%d %H:%M} UTC (override_hold)"
        )


@dataclass(frozen=True)
class Facts:
    """Journal facts for one advertiser at one moment; empty by default."""

    pending: Mapping[tuple[EntityKey, str], JournalEntry] = field(default_factory=dict)  # per (entity, field)
    budget_today: Mapping[EntityKey, tuple[JournalEntry, ...]] = field(default_factory=dict)  # oldest first
    holds: Mapping[tuple[EntityKey, str], Hold] = field(default_factory=dict)

    def hold(self, key: EntityKey, name: str, now: datetime) -> Hold | None:
        found = self.holds.get((key, name))
        return found if found is not None and now < found.until else None


def written(entry: JournalEntry) -> str | None:
    """The field an entry writes (None: neither status nor budget)."""
    return next((name for name in WRITABLE if name in entry.intent.after), None)


def is_write(entry: JournalEntry) -> bool:
    return not entry.intent.dry_run and entry.status in WRITES


def collect(
    entries: Iterable[JournalEntry], holds: Iterable[Hold], now: datetime, zone: tzinfo, override_hold: timedelta
) -> Facts:
    """Reduce the advertiser's recent journal entries (any order) and the stored holds to :class:`Facts`."""
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
        if intent.reverts is not None and name and is_write(entry) and now - entry.created_at < override_hold:
            held[(key, name)] = Hold(
                key,
                name,
                entry.created_at,
                entry.created_at + override_hold,
                intent.reverts,
                intent.after[name],
                f"revert #{entry.id}",
            )
    for hold in holds:
        mine = held.get((hold.key, hold.field))
        if mine is None or hold.until > mine.until:
            held[(hold.key, hold.field)] = hold
    return Facts(pending, {k: tuple(v) for k, v in today.items()}, held)


def recent_since(now: datetime, zone: tzinfo, override_hold: timedelta) -> datetime:
    """How far back :func:`collect` needs entries: the local day, and the override hold."""
    return min(day_start(now, zone), now - override_hold)
