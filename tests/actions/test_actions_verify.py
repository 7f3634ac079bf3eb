"""Verification, reconciliation of interrupted writes and manual-override detection: pure, table-tested."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.actions import verify
from monitor.actions.override import detect, latest_writes, revert_hold
from monitor.domain import EntityState, Hold, Level
from monitor.store.diff import FieldChange
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry

ADV = "7000000000000000001"
T = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
KEY = (Level.CAMPAIGN, "c1")
MIN = timedelta(minutes=1)


def entry(
    entry_id: int,
    after: dict[str, Any],
    *,
    before: dict[str, Any] | None = None,
    at: datetime = T,
    status: ActionStatus = ActionStatus.SUCCEEDED,
    dry_run: bool = False,
) -> JournalEntry:
    intent = ActionIntent(ADV, Level.CAMPAIGN, "c1", "x", "why", before=before or {}, after=after, dry_run=dry_run)
    return JournalEntry(entry_id, at, intent, status, at, None, None)


def state(status: str = "DISABLE", budget: float = 100.0) -> EntityState:
    return EntityState(Level.CAMPAIGN, "c1", ADV, operation_status=status, budget=budget, budget_mode="BUDGET_MODE_DAY")


PAUSED = entry(1, {"operation_status": "DISABLE"}, before={"operation_status": "ENABLE"})
SCHEDULED = entry(2, {"budget": 150.0, "scheduled_from": "2026-11-25T05:00:00+00:00"})


@pytest.mark.parametrize(
    ("entries", "previous_at", "now", "ids"),
    [
        ([PAUSED], T, T + 5 * MIN, [1]),  # written during the previous poll: this poll verifies it
        ([PAUSED], T + MIN, T + 5 * MIN, []),  # already seen by an earlier poll
        ([PAUSED], None, T + 5 * MIN, []),  # no previous poll
        ([entry(1, {"operation_status": "DISABLE"}, dry_run=True)], T, T + 5 * MIN, []),
        ([entry(1, {"operation_status": "DISABLE"}, status=ActionStatus.FAILED)], T, T + 5 * MIN, []),
        ([PAUSED, entry(3, {"operation_status": "ENABLE"})], T, T + 5 * MIN, [3]),  # only the newest per field
        ([SCHEDULED], T, T + 5 * MIN, []),  # a daily budget shows after the local midnight
        ([SCHEDULED], T + 9 * 60 * MIN, T + 9 * 60 * MIN + 5 * MIN, [2]),
    ],
)
def test_which_writes_a_poll_verifies(entries, previous_at, now, ids) -> None:
    assert [e.id for e in verify.to_verify(entries, previous_at, now)] == ids


@pytest.mark.parametrize(
    ("written", "seen", "problem"),
    [
        (PAUSED, state("DISABLE"), None),
        (PAUSED, state("ENABLE"), "expected operation_status DISABLE, the API shows ENABLE"),
        (PAUSED, None, "campaign c1 was not returned by the API"),
        (SCHEDULED, state(budget=150.004), None),
        (SCHEDULED, state(budget=100.0), "expected budget 150.00 USD, the API shows 100.00 USD"),
    ],
)
def test_mismatch(written: JournalEntry, seen: EntityState | None, problem: str | None) -> None:
    assert verify.mismatch(written, seen, "USD") == problem


def test_reconcile_an_interrupted_write() -> None:
    pending = entry(5, {"operation_status": "DISABLE"}, status=ActionStatus.PENDING)
    status, text = verify.reconcile(pending, state("DISABLE"), True, T, "USD")
    assert status is ActionStatus.SUCCEEDED and "shows it in effect" in text
    status, text = verify.reconcile(pending, state("ENABLE"), True, T, "USD")
    assert status is ActionStatus.FAILED and "not in effect" in text
    status, text = verify.reconcile(pending, None, False, T, "USD")
    assert status is ActionStatus.FAILED and "outcome unknown" in text
    later = entry(6, {"budget": 1.0, "scheduled_from": (T + MIN).isoformat()}, status=ActionStatus.PENDING)
    assert verify.reconcile(later, state(), True, T, "USD") is None  # knowable only after it takes effect


@pytest.mark.parametrize(
    ("change", "held"),
    [
        (FieldChange(KEY, "operation_status", "DISABLE", "ENABLE"), True),  # a person re-enabled what we paused
        (FieldChange(KEY, "operation_status", "ENABLE", "DISABLE"), False),  # our own pause showing up
        (FieldChange(KEY, "budget", 150.0, 120.0), True),  # a person changed the budget we set
        (FieldChange(KEY, "budget", 100.0, 150.0), False),  # our scheduled budget taking effect
        (FieldChange(KEY, "secondary_status", "A", "B"), False),
        (FieldChange((Level.CAMPAIGN, "c2"), "operation_status", "DISABLE", "ENABLE"), False),  # never ours
    ],
)
def test_manual_override_detection(change: FieldChange, held: bool) -> None:
    writes = latest_writes([PAUSED, SCHEDULED, entry(7, {"operation_status": "ENABLE"}, dry_run=True)])
    found = detect([change], writes, T, timedelta(hours=24), "USD")
    assert bool(found) is held
    if held:
        [hold] = found
        assert (hold.key, hold.field, hold.until, hold.by) == (KEY, change.field, T + timedelta(hours=24), "a person")


def test_a_detected_hold_is_a_domain_value_of_the_advertiser() -> None:
    [hold] = detect([FieldChange(KEY, "operation_status", "DISABLE", "ENABLE")], latest_writes([PAUSED]), T,
                    timedelta(hours=24), "USD")  # fmt: skip
    assert hold == Hold(ADV, KEY, "operation_status", T, T + timedelta(hours=24), 1, "ENABLE", "a person")
    assert hold.live(T) and not hold.live(T + timedelta(hours=24))


def test_a_revert_makes_a_hold_for_override_hold() -> None:
    undo = entry(9, {"operation_status": "ENABLE"}, before={"operation_status": "DISABLE"}, at=T)
    undo = JournalEntry(9, T, replace(undo.intent, reverts=1), ActionStatus.SUCCEEDED, T, None, None)
    hold = revert_hold(undo, timedelta(hours=24))
    assert hold == Hold(ADV, KEY, "operation_status", T, T + timedelta(hours=24), 1, "ENABLE", "revert #9")
    assert hold.describe().startswith("revert #9 set it to ENABLE at 2026-11-24 20:00 UTC after journal #1")
    assert revert_hold(PAUSED, timedelta(hours=24)) is None  # not a revert
    dry = JournalEntry(9, T, replace(undo.intent, dry_run=True), ActionStatus.DRY_RUN, T, None, None)
    assert revert_hold(dry, timedelta(hours=24)) is None
