"""``tiktok-monitor history``: the action journal as a table, newest first.

Columns: id, time (UTC), rule, action, entity, before -> after, outcome, request_id. Entries that revert
another say so in the action column ("enable (revert #12)"); a remark or error (and, asked for, the reason)
is printed under its entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from monitor.actions.base import BUDGET, SCHEDULED_FROM
from monitor.actions.facts import written
from monitor.durations import parse_duration
from monitor.notify.units import format_value
from monitor.store.values import JournalEntry

HEADERS = ("id", "time (UTC)", "rule", "action", "entity", "before -> after", "outcome", "request_id")


def parse_since(text: str, now: datetime) -> datetime:
    """``2026-11-24T00:00Z``, ``2026-11-24 08:00+01:00``, ``2026-11-24`` (UTC when no offset) or a duration
    back from ``now`` (``24h``). Raises ValueError with a message for people."""
    value = text.strip()
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected a time like 2026-11-24T00:00Z, a date, or a duration like 24h"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def change(entry: JournalEntry, currency: str | None = None) -> str:
    """ "ENABLE -> DISABLE", "434.00 USD -> 520.80 USD (from 2026-11-25T05:00:00+00:00)": budgets in the
    advertiser's ``currency`` (plain numbers when it is not known)."""
    name = written(entry)
    if name is None:
        return "-"
    before, after = entry.intent.before.get(name), entry.intent.after.get(name)
    if name == BUDGET:
        text = f"{_money(before, currency)} -> {_money(after, currency)}"
    else:
        text = f"{_value(before)} -> {_value(after)}"
    starts = entry.intent.after.get(SCHEDULED_FROM)
    if name == BUDGET and starts:
        text += f" (from {starts})"
    return text


def _money(value: object, currency: str | None) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_value(float(value), currency or "")
    return _value(value)


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "?" if value is None else str(value)


def rows(entries: Sequence[JournalEntry], currencies: Mapping[str, str | None] | None = None) -> list[tuple[str, ...]]:
    currencies = currencies or {}
    out: list[tuple[str, ...]] = []
    for e in entries:
        intent = e.intent
        action = intent.action + (f" (revert #{intent.reverts})" if intent.reverts is not None else "")
        out.append(
            (
                str(e.id),
                e.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                intent.rule or "-",
                action,
                f"{intent.level.value} {intent.entity_id}",
                change(e, currencies.get(intent.advertiser_id)),
                e.status.value,
                e.request_id or "-",
            )
        )
    return out


def render(
    entries: Sequence[JournalEntry], *, reasons: bool = False, currencies: Mapping[str, str | None] | None = None
) -> str:
    """The table, one entry per line (remarks, and with ``reasons`` the reason, indented under it); a sentence
    when there is nothing. ``currencies``: advertiser id -> its currency, for budgets."""
    if not entries:
        return "no journaled actions match\n"
    table = rows(entries, currencies)
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    for entry, row in zip(entries, table, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if reasons:
            lines.append(f"    why: {entry.intent.reason}")
        if entry.error:
            lines.append(f"    {entry.error}")
    return "\n".join(lines) + "\n"
