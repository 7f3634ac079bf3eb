"""What the status page shows, read from the store, and how its values are written (the templates' filters).

The facts are ``status``'s (:func:`monitor.status.collect.collect`: advertisers, alerts with their values,
silences, holds, the breaker, the outbox) plus the newest entries of the action journal and which of them were
reverted already. Reads only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.actions.base import GuardSettings
from monitor.actions.history import change
from monitor.domain import Matcher
from monitor.durations import format_duration
from monitor.notify.names import display_name
from monitor.status.collect import collect
from monitor.status.render_text import metric
from monitor.status.report import AdvertiserStatus, StatusReport
from monitor.store.repo import Store
from monitor.store.values import ActionStatus, JournalEntry

#: How many journal entries the page lists (newest first).
JOURNAL_ROWS = 25


@dataclass(frozen=True)
class Sources:
    """Where the page's facts come from: the store, the settings ``status`` needs, the loaded rules' severities."""

    store: Store
    interval: timedelta
    guards: GuardSettings
    configured: Sequence[str] = ()
    severities: Callable[[], Mapping[str, str]] = dict


@dataclass(frozen=True)
class View:
    """One rendering's facts: the status report, the journal's newest entries, the ids already reverted."""

    report: StatusReport
    journal: Sequence[JournalEntry]
    reverted: frozenset[int]


async def read_view(sources: Sources, now: datetime) -> View:
    """The page's facts at ``now``."""
    report = await collect(
        sources.store,
        now,
        interval=sources.interval,
        guards=sources.guards,
        configured=sources.configured,
        severities=sources.severities(),
    )
    journal = await sources.store.journal.history(limit=JOURNAL_ROWS)
    return View(report, journal, frozenset(e.intent.reverts for e in journal if e.intent.reverts is not None))


def revertible(entry: JournalEntry, reverted: frozenset[int]) -> bool:
    """Whether the page offers to revert ``entry``: a real write that succeeded, not itself a revert, not
    reverted already (among the listed entries; ``revert`` checks the whole journal again)."""
    return (
        entry.status is ActionStatus.SUCCEEDED
        and not entry.intent.dry_run
        and entry.intent.reverts is None
        and entry.id not in reverted
    )


def health(advertiser: AdvertiserStatus) -> str:
    """``paused``, ``failing``, ``ok`` or ``pending`` (never polled)."""
    if advertiser.paused is not None:
        return "paused"
    if advertiser.last_poll is None:
        return "pending"
    return "ok" if advertiser.last_poll.outcome == "ok" else "failing"


def matchers_text(matchers: Sequence[Mapping[str, Any]]) -> str:
    """A stored silence's matchers as written on the command line: ``rule=spending advertiser=7000``."""
    return " ".join(str(Matcher(m["name"], m["value"], bool(m.get("is_glob")))) for m in matchers)


def utc(moment: datetime | None) -> str:
    """``2026-11-24 20:03:12`` (UTC), or ``-``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


#: The templates' filters (``when`` is added by the page: it needs the rendering's ``now``).
FILTERS: dict[str, Callable[..., Any]] = {
    "metric": metric,
    "name": lambda name: display_name(name) or "",
    "change": change,
    "health": health,
    "duration": format_duration,
    "matchers": matchers_text,
    "utc": utc,
}
