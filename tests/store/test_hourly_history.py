"""Hourly history of past days (migration 0012) on SQLite and PostgreSQL: a day is stored whole, replaced whole,
read back by date and entity, and pruned beyond the longest baseline any rule reads."""

from __future__ import annotations

from datetime import date, timedelta

from monitor.domain import Level
from monitor.domain.baseline import keep_days
from monitor.store import Store
from monitor.store.hourly import HourlyHistory
from tests.store.conftest import ADV, T0

DAY = date(2026, 11, 17)


async def test_a_day_is_stored_read_back_and_replaced_whole(store: Store) -> None:
    history = store.hourly
    rows = {"c1": {0: {"spend": 1.5, "clicks": 3}, 14: {"spend": 2.0, "clicks": None}}, "c2": {23: {"spend": 0.25}}}
    await history.save_day(ADV, Level.CAMPAIGN, DAY, ("spend", "clicks"), rows, T0)
    await history.save_day(ADV, Level.CAMPAIGN, DAY - timedelta(days=7), ("spend",), {}, T0)  # no delivery at all
    stored = await history.stored_days(ADV, Level.CAMPAIGN, [DAY, DAY - timedelta(days=7), DAY - timedelta(days=14)])
    assert stored == {DAY: frozenset({"spend", "clicks"}), DAY - timedelta(days=7): frozenset({"spend"})}
    assert await history.stored_days(ADV, Level.AD, [DAY]) == {}  # another level
    assert await history.load(ADV, Level.CAMPAIGN, stored) == {
        "c1": {DAY: {0: {"spend": 1.5, "clicks": 3}, 14: {"spend": 2.0, "clicks": None}}},  # missing stays missing
        "c2": {DAY: {23: {"spend": 0.25}}},
    }
    await history.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), {"c3": {5: {"spend": 9.0}}}, T0)
    again = await history.stored_days(ADV, Level.CAMPAIGN, [DAY])
    assert again == {DAY: frozenset({"spend"})}
    assert await history.load(ADV, Level.CAMPAIGN, again) == {"c3": {DAY: {5: {"spend": 9.0}}}}  # not the cached


async def test_a_day_another_process_stored_again_is_read_anew(store: Store) -> None:
    mine, theirs = HourlyHistory(store.engine), HourlyHistory(store.engine)
    await theirs.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), {"c1": {1: {"spend": 1.0}}}, T0)
    stored = await mine.stored_days(ADV, Level.CAMPAIGN, [DAY])
    assert await mine.load(ADV, Level.CAMPAIGN, stored) == {"c1": {DAY: {1: {"spend": 1.0}}}}
    await theirs.save_day(ADV, Level.CAMPAIGN, DAY, ("clicks", "spend"), {"c1": {1: {"spend": 1.0, "clicks": 2}}}, T0)
    stored = await mine.stored_days(ADV, Level.CAMPAIGN, [DAY])
    assert await mine.load(ADV, Level.CAMPAIGN, stored) == {"c1": {DAY: {1: {"spend": 1.0, "clicks": 2}}}}


async def test_pruning_keeps_the_longest_baseline_and_a_margin(store: Store) -> None:
    today = T0.date()
    days = [today - timedelta(days=n) for n in (7, 28, keep_days(4), keep_days(4) + 2, 90)]
    for day in days:
        await store.hourly.save_day(ADV, Level.CAMPAIGN, day, ("spend",), {"c1": {1: {"spend": 1.0}}}, T0)
    await store.prune_hourly(T0, baseline_weeks=4)
    kept = await store.hourly.stored_days(ADV, Level.CAMPAIGN, days)
    assert sorted(kept) == sorted(days[:3])  # keep_days(4) back is kept (a day early for every time zone)
    assert set((await store.hourly.load(ADV, Level.CAMPAIGN, kept))["c1"]) == set(days[:3])
    await store.prune(T0)  # the snapshot history's pruning: hourly history untouched
    assert len(await store.hourly.stored_days(ADV, Level.CAMPAIGN, days)) == 3
    await store.prune_hourly(T0, baseline_weeks=0)  # no rule reads a baseline any more: only the margin stays
    assert sorted(await store.hourly.stored_days(ADV, Level.CAMPAIGN, days)) == [days[0]]


async def test_a_preview_keeps_nothing(store: Store) -> None:
    readonly = HourlyHistory(store.engine, writable=False)
    await readonly.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), {"c1": {1: {"spend": 1.0}}}, T0)
    assert await store.hourly.stored_days(ADV, Level.CAMPAIGN, [DAY]) == {}


async def test_a_day_another_process_stored_again_with_the_same_metrics_is_read_anew(store: Store) -> None:
    # the cache is keyed by the day's version (its fetched_at), not only by its metrics
    mine, theirs = HourlyHistory(store.engine), HourlyHistory(store.engine)
    await theirs.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), {"c1": {1: {"spend": 1.0}}}, T0)
    assert await mine.load(ADV, Level.CAMPAIGN, await mine.stored_days(ADV, Level.CAMPAIGN, [DAY])) == {
        "c1": {DAY: {1: {"spend": 1.0}}}
    }
    for later in (T0 + timedelta(hours=1), T0):  # a later clock, and one that says the same time again
        await theirs.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), {"c2": {3: {"spend": later.hour}}}, later)
        stored = await mine.stored_days(ADV, Level.CAMPAIGN, [DAY])
        assert await mine.load(ADV, Level.CAMPAIGN, stored) == {"c2": {DAY: {3: {"spend": later.hour}}}}


async def test_the_cache_is_bounded_by_entity_hours_not_days(store: Store) -> None:
    history = HourlyHistory(store.engine, cached_hours=100)
    days = [DAY - timedelta(days=n) for n in range(3)]
    big = {f"c{i}": {h: {"spend": 1.0} for h in range(24)} for i in range(2)}  # 48 entity-hours a day
    for day in days:
        await history.save_day(ADV, Level.CAMPAIGN, day, ("spend",), big, T0)
    stored = await history.stored_days(ADV, Level.CAMPAIGN, days)
    loaded = await history.load(ADV, Level.CAMPAIGN, stored)
    assert set(loaded["c0"]) == set(days)
    assert history.hours_cached == 96  # two of the three days: 144 entity-hours would exceed 100
    huge = {f"c{i}": {h: {"spend": 1.0} for h in range(24)} for i in range(5)}  # 120 > the whole cache
    await history.save_day(ADV, Level.CAMPAIGN, DAY, ("spend",), huge, T0)
    again = await history.load(ADV, Level.CAMPAIGN, await history.stored_days(ADV, Level.CAMPAIGN, [DAY]))
    assert len(again) == 5 and history.hours_cached == 48  # read, not kept; its stale version forgotten
