"""The compact history gives back exactly what each poll saw: every snapshot, and a backtest's stream of them."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.store import Store
from monitor.store import replay as history
from monitor.store.models import HistoryMetricsRow, HistoryNameRow

from .conftest import ADV, T0, state
from .histories import histories

MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_snapshot_and_the_replayed_stream_are_what_each_poll_saw(store: Store, seed: int) -> None:
    seen = histories(seed)
    ids = []
    for n, entities in enumerate(seen):
        async with store.poll(ADV, T0 + n * MINUTE) as poll:
            poll.save(entities.values())
        ids.append(poll.poll_id)
    for poll_id, entities in zip(ids, seen, strict=True):
        snapshot = await store.snapshot(ADV, poll_id)
        assert snapshot is not None and dict(snapshot.entities) == entities
        for key, entity in entities.items():  # types too: 0 stays 0, 0.0 stays 0.0
            got = snapshot.entities[key].metrics
            assert {w: {m: type(v) for m, v in vs.items()} for w, vs in got.items()} == {
                w: {m: type(v) for m, v in vs.items()} for w, vs in entity.metrics.items()
            }
    streamed = [(s.poll_id, dict(s.entities)) async for s, _ in history.snapshots(store.engine, ADV, T0)]
    assert streamed == list(zip(ids, seen, strict=True))


async def test_a_window_is_written_when_it_changes_not_with_today(store: Store) -> None:
    def seen(spend: float) -> list:
        metrics = {"today": {"spend": spend}, "yesterday": {"spend": 9.0, "conversion": 2}}
        return [state(f"a{i}", metrics=metrics) for i in range(10)]

    for n in range(5):
        async with store.poll(ADV, T0 + n * MINUTE) as poll:
            poll.save(seen(float(n)))
    metrics, names = HistoryMetricsRow.__table__, HistoryNameRow.__table__
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(names.c.value, sa.func.count())
                .select_from(metrics)
                .join(names, names.c.id == metrics.c.window_id)
                .group_by(names.c.value)
                .order_by(names.c.value)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("today", 50), ("yesterday", 10)]


@pytest.mark.parametrize(("before", "after"), [(-0.0, 0.0), (0.0, -0.0)])
async def test_a_zero_that_changed_sign_is_in_the_history(store: Store, before: float, after: float) -> None:
    """``-0.0 == 0.0``: the window's row is written all the same, so each poll reads back the sign it saved."""
    ids = []
    for n, spend in enumerate([before, after]):
        async with store.poll(ADV, T0 + n * MINUTE) as poll:
            poll.save([state("a1", metrics={"today": {"spend": spend, "clicks": 0}})])
        ids.append(poll.poll_id)
    for poll_id, spend in zip(ids, [before, after], strict=True):
        snapshot = await store.snapshot(ADV, poll_id)
        assert snapshot is not None
        read = snapshot.entities[state("a1").key].metrics["today"]["spend"]
        assert isinstance(read, float) and math.copysign(1.0, read) == math.copysign(1.0, spend)
