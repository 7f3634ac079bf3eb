"""monitor.store.history's rows: a window's packed values are exactly history_codec.pack's text (each metric set's
order worked out once, encoded in one call, or many windows in one), and what a poll writes reads back as it was
saved, for windows of any shape: names in any order, one name, none, ``None``, 0 and 0.0, integers past 64 bits,
texts that say null or hold a row's boundary."""

from __future__ import annotations

import math
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.domain import EntityKey, Level
from monitor.store import Store, history
from monitor.store.db import writing
from monitor.store.history_codec import HistoryChanges, WindowEvent, in_order, pack, pack_many, pack_ordered
from monitor.store.models import EntityKeyRow, HistoryMetricsRow, HistoryNameRow

from .conftest import ADV, T0, state

WINDOWS: list[dict[str, Any]] = [
    {"spend": 1.5, "impressions": 10, "ctr": None},
    {"ctr": None, "spend": 1.5, "impressions": 10},  # the same set, its names in another order
    {"spend": 0, "cost": 0.0, "clicks": None, "reach": None},
    {"spend": 2.25},  # one name
    {},  # none
    {"note": "null", "other": "a null here", "n": None},  # "null" in a text is not a None
    {"big": 2**70, "spend": 3.0},  # past 64 bits: what orjson cannot write, the general way writes exactly
    {"nested": {"b": 1, "a": [1.0, None]}, "t": (1, 2), "view": MappingProxyType({"z": 1, "y": 2})},
    {"é": "ü", "spend": -0.0, "tiny": 1e-05, "huge": 1e300},
    {"label": "a],[b", "spend": 1.0},  # a row's boundary inside a text
]


@pytest.mark.parametrize("values", WINDOWS)
def test_packed_text_is_packs(values: dict[str, Any]) -> None:
    assert pack_ordered(values, in_order(sorted(values))) == pack(values)


def test_windows_packed_at_once_are_each_packed() -> None:
    """pack_many's texts are pack's; None (each is then packed alone) when one encoding cannot be split exactly."""
    odd = [w for w in WINDOWS if "nested" in w or "big" in w or "note" in w or "label" in w]
    clean = [w for w in WINDOWS if w not in odd]
    rows = [in_order(sorted(w))(w) for w in clean]
    assert pack_many(rows) == [pack(w) for w in clean]  # None, 0 and 0.0, -0.0, no values at all, one, unicode
    assert pack_many(rows[:1]) == [pack(clean[0])]
    for values in [*odd, {"x": math.nan}, {"x": -math.inf, "y": None}, {"a": [1, 2], "b": [3]}]:
        assert pack_many([*rows, in_order(sorted(values))(values), *rows]) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_what_pack_refuses_is_refused(bad: float) -> None:
    """orjson writes NaN and the infinities as null: the packed text must refuse them as pack does."""
    cases: list[dict[str, Any]] = [{"spend": bad}, {"spend": bad, "ctr": None}, {"a": None, "b": [bad]}]
    for values in cases:
        with pytest.raises(ValueError):
            pack(values)
        with pytest.raises(ValueError):
            pack_ordered(values, in_order(sorted(values)))


async def test_windows_of_every_shape_read_back_as_saved(store: Store) -> None:
    # snapshots hold metric values, not structures; past 64 bits a stored value reads back as a float (fastjson)
    plain = [w for w in WINDOWS if "nested" not in w and "big" not in w]
    first = [state(f"a{i}", metrics={"today": dict(w), "yesterday": dict(plain[-1 - i])}) for i, w in enumerate(plain)]
    async with store.poll(ADV, T0) as poll:
        poll.save(first)
    second = [state(f"a{i}", metrics={"today": dict(plain[-1 - i])}) for i in range(len(plain))]  # every window moves
    async with store.poll(ADV, T0 + timedelta(minutes=1)) as poll2:
        poll2.save(second)
    for poll_id, saved in ((poll.poll_id, first), (poll2.poll_id, second)):
        snapshot = await store.snapshot(ADV, poll_id)
        assert snapshot is not None
        for entity in saved:
            got = snapshot.entities[entity.key].metrics
            assert {w: dict(v) for w, v in got.items()} == {w: dict(v) for w, v in entity.metrics.items()}
            assert {w: {m: type(x) for m, x in v.items()} for w, v in got.items()} == {
                w: {m: type(x) for m, x in v.items()} for w, v in entity.metrics.items()
            }
    async with store.engine.connect() as conn:  # one metric set per set of names, whatever their order
        names = HistoryNameRow.__table__
        sets = (await conn.execute(sa.select(names.c.value).where(names.c.kind == "metrics"))).scalars().all()
        assert len(sets) == len(set(sets)) == len({tuple(sorted(w)) for w in plain})
        vals = HistoryMetricsRow.__table__.c.vals
        assert "[null,0.0,null,0]" in (await conn.execute(sa.select(vals))).scalars().all()  # clicks,cost,reach,spend


async def test_a_window_of_an_entity_whose_key_the_writer_lacks_is_looked_up(store: Store) -> None:
    """The writer knows the keys of the previous snapshot's entities; a window row of any other entity (it has no
    state row in this poll) still gets its entity's key, from the store."""
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1"), state("a2")])
    keys = EntityKeyRow.__table__
    async with writing(store.engine) as conn:
        query = sa.select(keys.c.entity_id, keys.c.sid).order_by(keys.c.entity_id)
        known = {entity_id: sid for entity_id, sid in await conn.execute(query)}
        sids: dict[EntityKey, int] = {}  # knows neither
        window = WindowEvent((Level.AD, "a2"), "yesterday", {"spend": 2.0})  # a window new in that poll
        await history.write(conn, ADV, poll.poll_id, HistoryChanges(windows=(window,)), sids)
        metrics = HistoryMetricsRow.__table__
        written = [
            tuple(row) for row in await conn.execute(sa.select(metrics.c.sid, metrics.c.poll_id, metrics.c.vals))
        ]
    assert sids == {(Level.AD, "a2"): known["a2"]}
    assert (known["a2"], poll.poll_id, "[2.0]") in written
