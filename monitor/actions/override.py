"""Manual override: a person undid a change the monitor made, and the monitor yields for ``override_hold``.

Seen in the diff between two polls: a field the monitor last set (its newest successful, non-dry-run journal
entry for that field of that entity) moves *away from* the value the monitor set, and this poll's journal has
no write of the monitor that explains it. Then :func:`detect` returns a :class:`~monitor.actions.facts.Hold`;
the pipeline keeps it as an alert state (rule ``_actions/override/<field>``, saved in the poll's transaction,
so holds survive restarts) until it expires. Pure, apart from the types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from monitor.actions.base import BUDGET, WRITABLE
from monitor.actions.budget import same_money
from monitor.actions.facts import Hold, written
from monitor.domain import AlertState, EntityKey
from monitor.store.diff import FieldChange
from monitor.store.values import JournalEntry

RULE_PREFIX = "_actions/override/"
HELD = "held"


def is_hold(rule: str) -> bool:
    """Whether an alert state's rule name is a hold (not a rule's alert: the lifecycle must not see it)."""
    return rule.startswith(RULE_PREFIX)


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
) -> list[Hold]:
    """Holds for the changes that undo the monitor's latest write of a field (see the module docstring)."""
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
        found.append(Hold(change.key, change.field, now, now + hold, entry.id, change.after, "a person"))
    return found


def _same(a: object, b: object, name: str, currency: str | None) -> bool:
    if name == BUDGET and isinstance(a, int | float) and isinstance(b, int | float):
        return same_money(float(a), float(b), currency)
    return a == b


def to_state(hold: Hold, advertiser_id: str) -> AlertState:
    level, entity_id = hold.key
    return AlertState(
        rule=RULE_PREFIX + hold.field,
        advertiser_id=advertiser_id,
        level=level,
        entity_id=entity_id,
        state=HELD,
        since=hold.since,
        values={
            "until": hold.until.isoformat(),
            "journal_id": hold.journal_id,
            "value": None if hold.value is None else str(hold.value),
            "by": hold.by,
        },
    )


def from_state(state: AlertState) -> Hold:
    values = state.values
    journal_id = values.get("journal_id")
    return Hold(
        key=(state.level, state.entity_id),
        field=state.rule.removeprefix(RULE_PREFIX),
        since=state.since,
        until=datetime.fromisoformat(str(values.get("until"))),
        journal_id=int(journal_id) if isinstance(journal_id, int | float) else None,
        value=values.get("value"),
        by=str(values.get("by") or "a person"),
    )
