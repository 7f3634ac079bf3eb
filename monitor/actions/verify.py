"""Did a write take effect? The poll after a write compares what it reads with what the journal says was set.

Pure functions over journal entries and entity states:

* :func:`due` is when a write should show: at once, or for a daily ad-group budget at the next local midnight.
* :func:`to_verify` picks the writes the current poll is the first to be able to see: due at or after the
  previous snapshot was taken and before this poll (only the newest write per field of an entity).
* :func:`mismatch` says how the entity differs from the journaled ``after`` (None: it matches).
* :func:`reconcile` settles an entry left pending by a crash: in effect or not, from what the poll reads.

A mismatch means the write did not take effect, or someone changed the entity again before this poll.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from monitor.actions.base import SCHEDULED_FROM
from monitor.actions.budget import money, same_money
from monitor.actions.facts import written
from monitor.domain import EntityKey, EntityState
from monitor.store.values import ActionStatus, JournalEntry


def due(entry: JournalEntry) -> datetime:
    starts = entry.intent.after.get(SCHEDULED_FROM)
    return datetime.fromisoformat(starts) if starts is not None else entry.created_at


def to_verify(entries: Iterable[JournalEntry], previous_at: datetime | None, now: datetime) -> list[JournalEntry]:
    """The successful writes this poll is the first to see (see the module docstring), oldest first."""
    if previous_at is None:
        return []
    newest: dict[tuple[EntityKey, str], JournalEntry] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        name = written(entry)
        if name and not entry.intent.dry_run and entry.status is ActionStatus.SUCCEEDED:
            newest[((entry.intent.level, entry.intent.entity_id), name)] = entry
    return sorted((e for e in newest.values() if previous_at <= due(e) < now), key=lambda e: e.id)


def mismatch(entry: JournalEntry, state: EntityState | None, currency: str | None) -> str | None:
    """How ``state`` differs from what ``entry`` set ("" never; None when it matches)."""
    name = written(entry)
    if name is None:
        return None
    what = f"{entry.intent.level.value} {entry.intent.entity_id}"
    if state is None:
        return f"{what} was not returned by the API"
    wanted, seen = entry.intent.after[name], getattr(state, name)
    if name == "budget":
        if isinstance(seen, int | float) and same_money(float(seen), float(wanted), currency):
            return None
        return f"expected budget {money(float(wanted), currency)}, the API shows {money(seen, currency)}"
    if seen == wanted:
        return None
    return f"expected {name} {wanted}, the API shows {seen or 'nothing'}"


def reconcile(
    entry: JournalEntry, state: EntityState | None, polled: bool, now: datetime, currency: str | None
) -> tuple[ActionStatus, str] | None:
    """How to finish an entry left pending (None: not yet knowable, a daily budget still to take effect)."""
    if due(entry) > now:
        return None
    head = "interrupted before TikTok answered"
    if not polled:
        return ActionStatus.FAILED, f"{head}; outcome unknown: this level is not polled"
    problem = mismatch(entry, state, currency)
    if problem is None:
        return ActionStatus.SUCCEEDED, f"{head}; the poll at {now:%Y-%m-%d %H:%M} UTC shows it in effect"
    return ActionStatus.FAILED, f"{head}; not in effect at the poll at {now:%Y-%m-%d %H:%M} UTC: {problem}"
