"""Saving and reading snapshots: round trips, history, carried-over levels, change-only storage."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.clock import FrozenClock
from monitor.domain import EntityState, Level
from monitor.errors import MonitorError
from monitor.fetch import entity_state
from monitor.store import PollStatus, Store, UnstorableMetricsError, diff_snapshots
from monitor.store.models import EntityRow, HistoryMetricsRow, HistoryStateRow
from monitor.tiktok.models import Entity

from .conftest import ADV, T0, data_bytes, latest_snapshot, state


async def poll_once(store: Store, *states: EntityState, at: int = 0, **save: object) -> int:
    async with store.poll(ADV, T0 + timedelta(minutes=5 * at)) as poll:
        poll.save(states, **save)  # type: ignore[arg-type]
    return poll.poll_id


async def count(store: Store, table: sa.Table) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def test_no_snapshot_before_the_first_poll(store: Store) -> None:
    assert await latest_snapshot(store, ADV) is None
    assert await store.previous_snapshot(ADV) is None


async def test_round_trip_keeps_none_zero_and_types_apart(store: Store) -> None:
    metrics = {
        "today": {"spend": 0.0, "impressions": 0, "conversion": None, "cpc": 0.41, "clicks": 12},
        "yesterday": {"spend": 1234.5, "conversion": 3, "cost_per_conversion": None},
        "lifetime": {},
    }
    states = [
        state("c1", Level.CAMPAIGN, budget=500.0, budget_mode="BUDGET_MODE_DAY", metrics=metrics),
        state("g1", Level.ADGROUP, budget=None, budget_mode=None, name=None, metrics={}),
        state("a1", name="Ünïcode ad 🚀", metrics={"today": {"ctr": 1.25, "currency": "USD"}}),
        state("1790000000000000001", Level.AD, secondary_status=None, operation_status=None),
    ]
    poll_id = await poll_once(store, *states)
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None
    assert (snapshot.advertiser_id, snapshot.poll_id, snapshot.taken_at) == (ADV, poll_id, T0)
    assert snapshot.taken_at.tzinfo is not None
    assert dict(snapshot.entities) == {s.key: s for s in states}
    campaign = snapshot.get(Level.CAMPAIGN, "c1")
    assert campaign is not None
    today = campaign.metrics["today"]
    assert today["conversion"] is None and "conversion" in today
    assert today["spend"] == 0 and type(today["spend"]) is float
    assert today["impressions"] == 0 and type(today["impressions"]) is int
    assert campaign.metric("missing") is None and campaign.metric("spend", "nowhere") is None
    assert campaign.metrics["lifetime"] == {}


async def test_value_objects_are_frozen(store: Store) -> None:
    await poll_once(store, state("a1"))
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None
    entity = snapshot.get("ad", "a1")
    assert entity is not None
    with pytest.raises(AttributeError):
        entity.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entity.metrics["today"]["spend"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        snapshot.entities[(Level.AD, "x")] = entity  # type: ignore[index]


async def test_from_entity_combines_the_client_value_object_with_metrics(store: Store) -> None:
    row = {"ad_id": "a1", "ad_name": "An ad", "adgroup_id": "g1", "campaign_id": "c1", "operation_status": "ENABLE"}
    entity = Entity.from_api(Level.AD, ADV, row)
    await poll_once(store, entity_state(entity, {"today": {"spend": 2.5}}))
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None
    got = snapshot.get(Level.AD, "a1")
    assert got is not None
    assert (got.name, got.adgroup_id, got.campaign_id, got.metric("spend")) == ("An ad", "g1", "c1", 2.5)


async def test_previous_and_older_snapshots_are_rebuilt_from_history(store: Store) -> None:
    p1 = await poll_once(store, state("a1", budget=1.0), state("a2"), at=0)
    p2 = await poll_once(store, state("a1", budget=2.0), state("a3"), at=1)  # a2 gone, a3 new
    p3 = await poll_once(store, state("a1", budget=2.0), state("a2"), state("a3"), at=2)  # a2 back
    latest, previous = await latest_snapshot(store, ADV), await store.previous_snapshot(ADV)
    assert latest is not None and previous is not None
    assert latest.poll_id == p3 and previous.poll_id == p2
    assert sorted(k[1] for k in previous.entities) == ["a1", "a3"]
    assert previous.get("ad", "a1").budget == 2.0  # type: ignore[union-attr]
    assert previous.taken_at == T0 + timedelta(minutes=5)
    first = await store.snapshot(ADV, p1)
    assert first is not None and sorted(k[1] for k in first.entities) == ["a1", "a2"]
    assert first.get("ad", "a1").budget == 1.0  # type: ignore[union-attr]
    assert await store.previous_snapshot(ADV, before=p2) == first
    assert await store.previous_snapshot(ADV, before=p1) is None
    assert await store.snapshot(ADV, p3) == latest
    assert await store.snapshot(ADV, 10_000) is None


async def test_the_writer_hands_the_pipeline_previous_and_current(store: Store) -> None:
    await poll_once(store, state("a1", operation_status="ENABLE"), state("a2"))
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        assert poll.previous == await latest_snapshot(store, ADV)
        poll.save([state("a1", operation_status="DISABLE"), state("a3")])
        diff = diff_snapshots(poll.previous, poll.current)
        assert [s.id for s in diff.appeared] == ["a3"]
        assert [s.id for s in diff.disappeared] == ["a2"]
        assert [(c.key[1], c.field) for c in diff.changed] == [("a1", "operation_status")]
        current = poll.current
    assert await latest_snapshot(store, ADV) == current


async def test_levels_not_saved_carry_over(store: Store) -> None:
    await poll_once(store, state("c1", Level.CAMPAIGN), state("a1"), state("a2"))
    await poll_once(store, state("c1", Level.CAMPAIGN, budget=9.0), at=1, levels=[Level.CAMPAIGN])
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None
    assert sorted(k[1] for k in snapshot.entities) == ["a1", "a2", "c1"]
    assert snapshot.get("campaign", "c1").budget == 9.0  # type: ignore[union-attr]


async def test_a_current_snapshot_stays_as_it_was_when_more_levels_are_saved(store: Store) -> None:
    """``current`` holds the saved states as they are (not a copy of them): saving another level later makes a new
    snapshot and leaves the one handed out before unchanged."""
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1"), state("a2")], levels=[Level.AD])
        ads = poll.current
        poll.save([state("c1", Level.CAMPAIGN)], levels=[Level.CAMPAIGN])
        both = poll.current
    assert sorted(k[1] for k in ads.entities) == ["a1", "a2"]
    assert sorted(k[1] for k in both.entities) == ["a1", "a2", "c1"]
    assert await latest_snapshot(store, ADV) == both


async def test_save_checks_its_input(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        with pytest.raises(ValueError, match="belongs to advertiser"):
            poll.save([state("a1", advertiser_id="someone-else")])
        with pytest.raises(ValueError, match="given twice"):
            poll.save([state("a1"), state("a1")])
        with pytest.raises(ValueError, match="not of the levels"):
            poll.save([state("a1")], levels=["campaign"])
        poll.save([state("a1")], levels=["ad"])
        with pytest.raises(ValueError, match="already saved"):
            poll.save([state("a2")], levels=["ad"])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
async def test_unstorable_metric_values_fail_the_poll_and_write_nothing(store: Store, bad: object) -> None:
    await poll_once(store, state("a1"))
    with pytest.raises(UnstorableMetricsError, match="metric values must be finite numbers") as refused:
        await poll_once(store, state("a1", metrics={"today": {"spend": bad}}), at=1)
    # a MonitorError: what a preview (once --dry-run) reports as the advertiser's failure, not a traceback
    assert isinstance(refused.value, MonitorError) and isinstance(refused.value, ValueError)
    latest = await latest_snapshot(store, ADV)
    assert latest is not None and latest.get("ad", "a1") == state("a1")
    assert [r.status for r in await store.polls(ADV)] == [PollStatus.FAILED, PollStatus.OK]


async def history_rows(store: Store) -> tuple[int, int]:
    return await count(store, HistoryStateRow.__table__), await count(store, HistoryMetricsRow.__table__)


async def test_unchanged_entities_cost_no_rows(store: Store) -> None:
    states = [state(str(i), metrics={"today": {"spend": 0.0, "conversion": None}}) for i in range(50)]
    await poll_once(store, *states)
    assert await history_rows(store) == (50, 50)  # a state row and a row of its one window per entity
    for at in range(1, 6):
        await poll_once(store, *states, at=at)
    assert await history_rows(store) == (50, 50)
    assert await count(store, EntityRow.__table__) == 50
    # one entity changes a status, one a metric (None -> 0 is a change), one goes from 0 to 0.0
    changed = list(states)
    changed[0] = state(
        "0", secondary_status="AD_STATUS_AUDIT_DENY", metrics={"today": {"spend": 0.0, "conversion": None}}
    )
    changed[1] = state("1", metrics={"today": {"spend": 0.0, "conversion": 0}})
    changed[2] = state("2", metrics={"today": {"spend": 0, "conversion": None}})
    await poll_once(store, *changed, at=6)
    assert await history_rows(store) == (51, 52)  # the status: a state row; each metric change: its window
    runs = await store.polls(ADV, limit=1)
    assert (runs[0].status, runs[0].entities, runs[0].rows_written) == (PollStatus.OK, 50, 3)
    latest = await latest_snapshot(store, ADV)
    assert latest is not None
    assert type(latest.get("ad", "2").metric("spend")) is int  # type: ignore[union-attr]


async def test_bytes_do_not_grow_for_unchanged_polls(store: Store) -> None:
    states = [state(str(i)) for i in range(2000)]
    await poll_once(store, *states)
    await poll_once(store, *states, at=1)
    size = await data_bytes(store)
    for at in range(2, 12):
        await poll_once(store, *states, at=at)
    # ten polls of 2,000 unchanged entities: no row in entities or the history, at most a few pages of bookkeeping
    assert await data_bytes(store) - size <= 4 * 8192


async def test_poll_runs_are_recorded(store: Store, clock: FrozenClock) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.count_calls(3)
        poll.count_calls()
        poll.note_error("report for yesterday failed: 50000")
        poll.save([state("a1")])
        clock.advance(7)
    (run,) = await store.polls(ADV)
    assert run.status is PollStatus.OK
    assert (run.started_at, run.finished_at) == (T0, T0 + timedelta(seconds=7))
    assert (run.api_calls, run.errors, run.owner) == (4, ("report for yesterday failed: 50000",), "test")
    advertiser = await store.advertiser(ADV)
    assert advertiser is not None
    assert (advertiser.last_poll_id, advertiser.last_poll_status, advertiser.last_poll_at) == (
        run.id,
        PollStatus.OK,
        T0,
    )


async def test_times_must_be_aware(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        async with store.poll(ADV, T0.replace(tzinfo=None)):
            pass
