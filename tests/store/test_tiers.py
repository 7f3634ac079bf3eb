"""Tiered history: older polls compacted to one snapshot per hour, then per day; every kept snapshot is what its
poll saw; a backtest over compacted history runs and names its resolution; maintenance runs beside a poll."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from monitor.actions import GuardSettings
from monitor.backtest.command import backtest
from monitor.backtest.render import render_table
from monitor.rules.loader import load_rules
from monitor.store import replay as history
from monitor.store.compact import Budget
from monitor.store.tiers import DAILY, HOURLY, RAW, Tiers, span_start

from .conftest import ADV, T0, Database, state
from .histories import histories

STEP = timedelta(minutes=30)
TIERS = Tiers(raw=timedelta(hours=2), hourly=timedelta(hours=10), daily=timedelta(hours=100))


def expected_kept(times: list[datetime], now: datetime) -> dict[datetime, int]:
    """Which poll times survive compaction, with their tier: the newest of each span wholly before its boundary."""
    kept = {t: RAW for t in times}
    for tier in (HOURLY, DAILY):
        boundary = TIERS.boundary(tier, now)
        spans: dict[datetime, list[datetime]] = {}
        for t in kept:
            start = span_start(t, tier)
            if t < boundary and start + (timedelta(hours=1) if tier == HOURLY else timedelta(days=1)) <= boundary:
                spans.setdefault(start, []).append(t)
        for members in spans.values():
            for t in members[:-1]:
                del kept[t]
            kept[members[-1]] = tier
    return kept


async def test_compaction_keeps_one_snapshot_per_hour_then_day_each_as_its_poll_saw_it(
    database: Database, tmp_path
) -> None:
    store = await database.open(tiers=TIERS)
    try:
        seen = histories(seed=3, polls=60)
        times = [T0 + n * STEP for n in range(len(seen))]
        for at, entities in zip(times, seen, strict=True):
            async with store.poll(ADV, at) as poll:
                poll.save(entities.values())
        now = times[-1] + STEP
        budget = Budget(size=3)  # several batches per span
        report = await store.maintain(now, budget)
        kept = expected_kept(times, now)
        assert {DAILY, HOURLY, RAW} == set(kept.values()) and len(kept) < len(times)
        assert report.compacted.merged == len(times) - len(kept) and budget.batches > 10
        runs = {r.started_at: r for r in await store.polls(ADV, limit=1000)}
        assert sorted(runs) == sorted(kept)
        by_time = dict(zip(times, seen, strict=True))
        for at, run in runs.items():
            snapshot = await store.snapshot(ADV, run.id)
            assert snapshot is not None and dict(snapshot.entities) == by_time[at], at
        streamed = [(s.taken_at, dict(s.entities)) async for s, _ in history.snapshots(store.engine, ADV, T0)]
        assert streamed == [(at, by_time[at]) for at in sorted(kept)]
        # asked for a time, the reader picks the kept snapshot of whatever tier covers it
        oldest_kept = min(kept)
        picked = await store.snapshot_at(ADV, oldest_kept + timedelta(minutes=10))
        assert picked is not None and picked[1] == kept[oldest_kept] == DAILY
        assert dict(picked[0].entities) == by_time[oldest_kept]
        assert await store.snapshot_at(ADV, T0 - STEP) is None
        assert await store.maintain(now) is not None  # again: nothing left to do, nothing changes
        assert sorted(r.started_at for r in await store.polls(ADV, limit=1000)) == sorted(kept)
    finally:
        await store.close()

    (tmp_path / "r.toml").write_text('[[rule]]\nname = "r"\nlevel = "ad"\nwhen = "spend >= 0"\n')
    ruleset = load_rules(tmp_path / "r.toml", channels=())
    found = await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema)
    assert found.polls == len(kept) and found.tiers == {RAW, HOURLY, DAILY}
    table = render_table(found)
    assert "resolution: one snapshot per day / one snapshot per hour / every poll" in table
    recent = await backtest(
        database.url, ruleset, GuardSettings(), since=now - timedelta(hours=1), schema=database.schema
    )
    assert recent.resolution == "every poll"


async def test_maintenance_beside_a_poll_lets_the_poll_complete_and_loses_nothing(database: Database) -> None:
    store = await database.open(tiers=TIERS)
    try:
        ads = 400
        for n in range(24):  # twelve hours every half hour, every ad's today moving on
            async with store.poll(ADV, T0 + n * STEP) as poll:
                poll.save([state(f"a{i}", metrics={"today": {"spend": float(n * i)}}) for i in range(ads)])
        now = T0 + 24 * STEP
        newest = [state(f"a{i}", metrics={"today": {"spend": -1.0 * i}}) for i in range(ads)]

        async def one_poll() -> int:
            async with store.poll(ADV, now) as poll:
                await asyncio.sleep(0)  # let maintenance start its batches
                poll.save(newest)
            return poll.poll_id

        budget = Budget(size=8)
        maintained, poll_id = await asyncio.gather(store.maintain(now, budget), one_poll())
        assert maintained.compacted.merged > 0 and budget.batches > 5
        snapshot = await store.snapshot(ADV, poll_id)
        assert snapshot is not None and dict(snapshot.entities) == {s.key: s for s in newest}
        previous = await store.previous_snapshot(ADV)
        assert previous is not None and len(previous) == ads  # the hour before stays whole
        assert previous.get("ad", "a7").metric("spend") == 23 * 7.0  # type: ignore[union-attr]
    finally:
        await store.close()
