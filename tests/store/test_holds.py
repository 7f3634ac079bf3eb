"""Holds in their own table: written with the poll (or alone, for a revert), read back live, ended, pruned."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.actions import GuardContext, Planned, Verdict, decide
from monitor.actions.facts import collect
from monitor.domain import Hold, Level
from monitor.store import Store

from .conftest import ADV, T0, Database, state, statement_log

HOUR = timedelta(hours=1)
OTHER = "7000000000000000002"
PAUSED_BY_US = Hold(ADV, (Level.CAMPAIGN, "c1"), "operation_status", T0, T0 + 24 * HOUR, 3, "ENABLE")
BUDGET_SET = Hold(ADV, (Level.ADGROUP, "g1"), "budget", T0, T0 + 2 * HOUR, None, 120.5, "revert #13", "too low")


async def test_holds_round_trip_through_a_poll(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1")])
        poll.save_holds([PAUSED_BY_US, BUDGET_SET])
    loaded = await store.holds.active(ADV, T0)
    assert loaded == [PAUSED_BY_US, BUDGET_SET]
    assert all(h.id is not None for h in loaded) and loaded[0].id != loaded[1].id
    budget = loaded[1]
    assert (type(budget.value), budget.comment, budget.by, budget.journal_id) == (float, "too low", "revert #13", None)
    assert budget.since.utcoffset() == timedelta(0) and budget.until == T0 + 2 * HOUR
    assert budget.describe() == (
        "revert #13 set it to 120.5 at 2026-11-24 20:00 UTC; rules leave its budget alone until 2026-11-24 22:00 UTC "
        "(override_hold)"
    )
    assert await store.holds.active(OTHER, T0) == []


async def test_only_live_holds_are_read_and_a_poll_ends_the_ones_it_is_told_to(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1")])
        poll.save_holds([PAUSED_BY_US, BUDGET_SET])
    assert await store.holds.active(ADV, T0 + 2 * HOUR) == [PAUSED_BY_US]  # BUDGET_SET ran out
    [paused, _] = await store.holds.active(ADV, T0)
    again = Hold(ADV, (Level.CAMPAIGN, "c1"), "operation_status", T0 + HOUR, T0 + 25 * HOUR, 3, "ENABLE")
    async with store.poll(ADV, T0 + HOUR) as poll:
        poll.save([state("a1")])
        poll.end_holds([paused.id])
        poll.save_holds([again])
    assert await store.holds.active(ADV, T0 + HOUR) == [BUDGET_SET, again]
    ended, *rest = await store.holds.active(ADV, T0 + HOUR - timedelta(seconds=1))
    assert (ended.id, ended.until, rest) == (paused.id, T0 + HOUR, [BUDGET_SET, again])  # ended at the poll's time


async def test_a_hold_is_added_outside_a_poll_in_its_own_transaction(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:  # the advertiser exists once it was polled
        poll.save([state("a1")])
    await store.holds.add([BUDGET_SET], T0 + timedelta(minutes=1))
    assert await store.holds.active(ADV, T0 + HOUR) == [BUDGET_SET]


async def test_a_failed_poll_writes_no_hold(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.poll(ADV, T0) as poll:
            poll.save([state("a1")])
            poll.save_holds([PAUSED_BY_US])
            raise RuntimeError("the poll fails")
    assert await store.holds.active(ADV, T0) == []


async def test_holds_are_checked_at_the_door(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        Hold(ADV, (Level.CAMPAIGN, "c1"), "budget", datetime(2026, 11, 24), T0)
    async with store.poll(ADV, T0) as poll:
        with pytest.raises(ValueError, match=f"hold of advertiser {OTHER} in a poll of {ADV}"):
            poll.save_holds([Hold(OTHER, (Level.CAMPAIGN, "c1"), "budget", T0, T0 + HOUR)])


async def test_a_hold_survives_a_restart_and_the_guards_see_it(database: Database) -> None:
    store = await database.open()
    async with store.poll(ADV, T0) as poll:
        poll.save([state("c1", Level.CAMPAIGN)])
        poll.save_holds([PAUSED_BY_US])
    await store.close()

    store = await database.open()
    try:
        now = T0 + HOUR
        holds = await store.holds.active(ADV, now)
        assert holds == [PAUSED_BY_US]
        facts = collect([], holds, now, ZoneInfo("America/New_York"))
        entity = state("c1", Level.CAMPAIGN)
        plan = Planned("pause", Level.CAMPAIGN, "c1", entity, "spend > 300", rule="overspend")
        [decision] = decide([plan], GuardContext(now, ZoneInfo("America/New_York"), "USD", facts=facts)).decisions
        assert decision.verdict is Verdict.SKIP
        assert decision.reason.startswith("manual override: a person set it to ENABLE at 2026-11-24 20:00 UTC")
    finally:
        await store.close()


async def test_prune_deletes_holds_that_ended_before_the_cutoff(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1")])
        poll.save_holds([PAUSED_BY_US, BUDGET_SET])  # they end at T0 + 24 h and T0 + 2 h
    report = await store.prune(T0 + 26 * HOUR, retention=12 * HOUR)  # cutoff T0 + 14 h
    assert report.holds == 1
    assert await store.holds.active(ADV, T0) == [PAUSED_BY_US]
    report = await store.prune(T0 + 48 * HOUR, retention=12 * HOUR)
    assert report.holds == 1 and await store.holds.active(ADV, T0) == []


async def test_holds_are_written_with_one_statement_each_way(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1")])
        poll.save_holds(
            [Hold(ADV, (Level.AD, str(i)), "operation_status", T0, T0 + HOUR, i, "ENABLE") for i in range(200)]
        )
    ids = [h.id for h in await store.holds.active(ADV, T0)]
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            poll.save([state("a1")])
            poll.end_holds(i for i in ids if i is not None)
            poll.save_holds(
                [Hold(ADV, (Level.AD, str(i)), "budget", T0, T0 + HOUR, None, 10.0 + i) for i in range(200)]
            )
    assert (log.count("INSERT", "holds"), log.count("UPDATE", "holds")) == (1, 1)
    assert {h.field for h in await store.holds.active(ADV, T0 + timedelta(minutes=5))} == {"budget"}
