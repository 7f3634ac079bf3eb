"""Actions interrupted at the last stop: journal entries still pending at start-up (the process stopped between
the API call and its answer), told once each as an operational alert (``action_failed``) and never retried;
the next poll of each advertiser settles them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from monitor.domain import Account, OpsKind, OpsState
from monitor.notify.message import OperationalMessage
from monitor.store.values import ActionStatus, JournalEntry

if TYPE_CHECKING:
    from monitor.clock import Clock
    from monitor.ops_alerts import OpsAlerts
    from monitor.store.repo import Store


def interrupted_lines(entries: Iterable[JournalEntry]) -> dict[str, list[str]]:
    """Pending (unfinished) journal entries per advertiser, one line each, oldest first."""
    found: dict[str, list[str]] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        intent = entry.intent
        line = (
            f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id} at {entry.created_at:%Y-%m-%d %H:%M}"
        )
        found.setdefault(intent.advertiser_id, []).append(line)
    return found


async def report_interrupted_actions(store: Store, clock: Clock, alerts: OpsAlerts) -> None:
    """Tell people once per interrupted entry (the store remembers which were told: ``alerts`` has read what it
    remembers); never retry them. Entries of advertisers another live process polls now (a replica, a ``run``
    beside this ``once``) are in flight, not interrupted: that poll settles them."""
    now = clock.now()
    elsewhere = await store.polled_elsewhere(now)
    pending = await store.journal.history(statuses=[ActionStatus.PENDING], limit=None)
    told = {s.subject for s in alerts.remembered if s.kind is OpsKind.ACTION_FAILED}
    current = {f"journal:{entry.id}" for entry in pending}
    settled = [(OpsKind.ACTION_FAILED, subject) for subject in told - current if subject.startswith("journal:")]
    await store.problems.forget(settled)  # settled since they were told: nothing more to remember
    fresh = [e for e in pending if f"journal:{e.id}" not in told and e.intent.advertiser_id not in elsewhere]
    for advertiser_id, lines in interrupted_lines(fresh).items():
        record = await store.advertiser(advertiser_id)
        message = OperationalMessage(
            OpsKind.ACTION_FAILED,
            advertiser_id,
            "interrupted at the last stop, outcome unknown (the next poll checks and records it): " + "; ".join(lines),
            now,
            now,
            advertiser=Account(advertiser_id, record.name if record else None),
        )
        await alerts.tell([message], now)
    remembered = [OpsState(OpsKind.ACTION_FAILED, f"journal:{e.id}", now, True, now) for e in fresh]
    await store.problems.remember(remembered, now)
