"""Reading the history back poll by poll for a backtest: each poll's snapshot exactly as ``Store.snapshot`` rebuilds
it, oldest first, including polls where nothing changed, entities that disappeared and came back, and after
pruning from the retention cutoff on."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.actions import GuardSettings
from monitor.backtest.command import BacktestError, backtest
from monitor.domain import EntityState, Level
from monitor.rules.loader import load_rules
from monitor.store import Store
from monitor.store.replay import poll_times, snapshots

from .conftest import ADV, T0, Database, state

HOUR = timedelta(hours=1)
OTHER = "7000000000000000002"


async def poll_at(store: Store, hours: float, *states: EntityState, advertiser_id: str = ADV) -> int:
    async with store.poll(advertiser_id, T0 + hours * HOUR) as poll:
        poll.save(states)
    return poll.poll_id


async def history(store: Store) -> list[int]:
    """Seven polls of ADV (one failed) interleaved with another advertiser's; returns ADV's successful poll ids."""
    ids = [await poll_at(store, 0, state("a1", budget=1.0), state("a2"), state("gone"))]
    await poll_at(store, 0.5, state("x1", advertiser_id=OTHER), advertiser_id=OTHER)
    ids.append(await poll_at(store, 1, state("a1", budget=2.0), state("a2"), state("gone")))
    ids.append(await poll_at(store, 2, state("a1", budget=2.0), state("a2"), state("gone")))  # no change at all
    ids.append(await poll_at(store, 3, state("a1", budget=2.0), state("a2")))  # "gone" disappears
    with pytest.raises(RuntimeError):
        async with store.poll(ADV, T0 + 3.5 * HOUR) as poll:
            poll.save([state("a1", budget=99.0)])
            raise RuntimeError("the fetch failed")
    await poll_at(store, 3.7, state("x1", advertiser_id=OTHER, budget=5.0), advertiser_id=OTHER)
    ids.append(await poll_at(store, 4, state("a1", budget=3.0), state("a2"), state("gone", budget=7.0)))  # back
    ids.append(await poll_at(store, 5, state("a1", budget=3.0), state("new")))
    return ids


async def replayed(store: Store, hours: float) -> list[tuple[int, bool]]:
    out = []
    async for snapshot, replay in snapshots(store.engine, ADV, T0 + hours * HOUR):
        assert snapshot == await store.snapshot(ADV, snapshot.poll_id)
        out.append((snapshot.poll_id, replay))
    return out


async def test_every_successful_poll_is_rebuilt_in_order_as_the_store_rebuilds_it(store: Store) -> None:
    ids = await history(store)
    assert await replayed(store, 0) == [(p, True) for p in ids]


async def test_the_poll_before_since_comes_first_as_the_previous_snapshot_only(store: Store) -> None:
    ids = await history(store)
    assert await replayed(store, 1.5) == [(ids[1], False)] + [(p, True) for p in ids[2:]]
    assert [p for p, _ in await poll_times(store.engine, ADV, T0 + 1.5 * HOUR)] == ids[1:]
    assert await replayed(store, 6) == [(ids[-1], False)]  # nothing to replay, only the base


async def test_an_advertiser_without_polls_yields_nothing(store: Store) -> None:
    await history(store)
    assert [s async for s in snapshots(store.engine, "7000000000000000009", T0)] == []


async def test_after_pruning_a_backtest_reaches_back_to_the_retention_cutoff(store: Store) -> None:
    ids = await history(store)
    before = await replayed(store, 2)
    assert before == [(ids[1], False)] + [(p, True) for p in ids[2:]]
    await store.prune(T0 + 4 * HOUR, retention=2 * HOUR)  # cutoff T0 + 2h: polls from ids[2] on are kept
    # every poll from the cutoff on replays as before; the poll before it (the first one's previous) is gone
    assert await replayed(store, 2) == before[1:]


async def test_the_backtest_command_reads_the_database_and_refuses_another_schema_version(
    store: Store, database: Database, tmp_path
) -> None:
    await history(store)
    (tmp_path / "r.toml").write_text(
        "[[rule]]\nname = \"big\"\nlevel = \"ad\"\nwhen = \"name in ['ad a1', 'ad gone', 'ad x1']\"\n"
    )
    ruleset = load_rules(tmp_path / "r.toml", channels=())
    report = await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema)
    assert report.advertisers == [ADV, OTHER] and report.polls == 6 + 2
    assert [(f.advertiser_id, f.entity_id, f.fired_at - T0) for f in report.firings] == [
        (ADV, "a1", 0 * HOUR),
        (ADV, "gone", 0 * HOUR),
        (OTHER, "x1", 0.5 * HOUR),
    ]
    only = await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema, advertiser=OTHER)
    assert only.advertisers == [OTHER]
    with pytest.raises(BacktestError, match="no stored history"):
        await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema, advertiser="1")
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    with pytest.raises(BacktestError, match="schema is at 0001"):
        await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema)


async def test_a_backtest_sees_who_changed_an_entity_in_the_poll_that_read_it(
    store: Store, database: Database, tmp_path
) -> None:
    """``changed_by`` (the Change Log, read by one poll) is kept with that poll: the replayed snapshot of that
    poll carries it, the next one does not (it holds for one poll), and a backtest's rule reading it fires there."""
    first = await poll_at(store, 0, state("a1", operation_status="ENABLE"), state("a2"))
    async with store.poll(ADV, T0 + HOUR) as poll:
        poll.save([state("a1", operation_status="DISABLE"), state("a2")])
        poll.note_changed_by({(Level.AD, "a1"): "a person"})
    third = await poll_at(store, 2, state("a1", operation_status="DISABLE"), state("a2"))
    seen = {s.poll_id: s async for s, _ in snapshots(store.engine, ADV, T0)}
    assert list(seen) == [first, poll.poll_id, third]
    assert [seen[p].entities[(Level.AD, "a1")].changed_by for p in seen] == [None, "a person", None]
    assert seen[poll.poll_id].entities[(Level.AD, "a2")].changed_by is None

    (tmp_path / "r.toml").write_text('[[rule]]\nname = "by-hand"\nlevel = "ad"\nwhen = "changed_by == \'a person\'"\n')
    ruleset = load_rules(tmp_path / "r.toml", channels=())
    report = await backtest(database.url, ruleset, GuardSettings(), since=T0, schema=database.schema)
    assert [(f.entity_id, f.fired_at - T0) for f in report.firings] == [("a1", HOUR)]
