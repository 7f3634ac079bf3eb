"""Manual override: a person undid a change the monitor made, and the monitor yields for ``override_hold``.

Seen in the diff between two polls: a field the monitor last set (its newest successful, non-dry-run journal
entry for that field of that entity) moves *away from* the value the monitor set, and this poll's journal has
no write of the monitor that explains it. Then :func:`detect` returns a :class:`~monitor.domain.Hold`, which the
pipeline stores in the holds table in the poll's transaction (so holds survive restarts); it stops counting when
it ends.

Who moved it comes from TikTok's Change Log when the poll read it (``changed_by``, :mod:`monitor.changes`):
"a person" and "another app" make a hold (by that), so the monitor does not fight a decision made elsewhere;
"TikTok" (its own system changes) and "monitor" (a write of this app, e.g. by another instance) make none, so
the rules keep acting. When the log did not say (not read, failed, no row), the change is taken for a person's,
as before the Change Log was read. Done on purpose, with ``tiktok-monitor revert``: :func:`revert_hold` is the
hold a successful revert makes, :func:`missing_revert_hold` the one a revert cut short did not store (the poll
that confirms the revert makes it). Pure, apart from the types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from monitor.actions.base import BUDGET, WRITABLE
from monitor.actions.budget import same_money
from monitor.actions.facts import written
from monitor.changes import A_PERSON, ANOTHER_APP
from monitor.domain import EntityKey, Hold
from monitor.store.diff import FieldChange
from monitor.store.values import JournalEntry

#: Who, changing a field the monitor set, makes the monitor yield (see the module docstring).
HOLDING = frozenset({A_PERSON, ANOTHER_APP})


def latest_writes(entries: Iterable[JournalEntry]) -> dict[tuple[EntityKey, str], JournalEntry]:
    """The newest successful, non-dry-run write per (entity, field)."""
    out: dict[tuple[EntityKey, str], JournalEntry] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        name = written(entry)
        if name and not entry.intent.dry_run and entry.status.value == "succeeded":
            out[((entry.intent.level, entry.intent.entity_id), name)] = entry
    return out


def detect(
    changes: Iterable[FieldChange],
    writes: Mapping[tuple[EntityKey, str], JournalEntry],
    now: datetime,
    hold: timedelta,
    currency: str | None,
    changed_by: Mapping[EntityKey, str | None] | None = None,
) -> list[Hold]:
    """Holds for the changes that undo the monitor's latest write of a field (see the module docstring);
    ``changed_by`` says who changed each entity, when the Change Log told (missing or None: not known)."""
    found = []
    for change in changes:
        if change.field not in WRITABLE:
            continue
        entry = writes.get((change.key, change.field))
        if entry is None:
            continue
        ours = entry.intent.after[change.field]
        if not (
            _same(change.before, ours, change.field, currency) and not _same(change.after, ours, change.field, currency)
        ):
            continue
        who = (changed_by or {}).get(change.key) or A_PERSON
        if who not in HOLDING:
            continue
        advertiser_id = entry.intent.advertiser_id
        found.append(Hold(advertiser_id, change.key, change.field, now, now + hold, entry.id, change.after, who))
    return found


def revert_hold(entry: JournalEntry, hold: timedelta) -> Hold | None:
    """The hold the revert journaled as ``entry`` makes once it succeeded: rules leave the field it wrote alone
    for ``hold`` from when it was journaled. None if ``entry`` is no revert (or a dry run, or writes no field)."""
    intent = entry.intent
    name = written(entry)
    if intent.reverts is None or intent.dry_run or name is None:
        return None
    since = entry.created_at
    key = (intent.level, intent.entity_id)
    value = intent.after[name]
    return Hold(intent.advertiser_id, key, name, since, since + hold, intent.reverts, value, f"revert #{entry.id}")


def missing_revert_hold(entry: JournalEntry, stored: Iterable[Hold], hold: timedelta) -> Hold | None:
    """The hold of the revert journaled as ``entry`` (succeeded) when ``stored`` has none by it: the revert was cut
    short after journaling TikTok's answer and before storing its hold (a cancellation: Ctrl-C of ``revert``, the
    shutdown of a daemon whose Slack button or status page ran it, a crash). None when it is stored or no revert."""
    made = revert_hold(entry, hold)
    if made is None or any((h.by, h.key, h.field) == (made.by, made.key, made.field) for h in stored):
        return None
    return made


def _same(a: object, b: object, name: str, currency: str | None) -> bool:
    if name == BUDGET and isinstance(a, int | float) and isinstance(b, int | float):
        return same_money(float(a), float(b), currency)
    return a == b
