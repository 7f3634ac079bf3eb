"""The fetch path's bulk constructor (monitor.domain.building) builds the states ``EntityState(...)`` builds from
the same values: equal, every field of the same type, metrics read-only, and none of the window dicts copied."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityFields, EntityState, Level
from monitor.domain.building import build_states, restored_state
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, ReadOnlyDict

ADV = "7000000000000000001"
METRICS = ("spend", "clicks", "conversion", "cpc", "ctr", "campaign_name")

texts = st.one_of(st.none(), st.text(max_size=8))
values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 0.0, -0.0]),
    st.text(max_size=5),
)
windows = st.dictionaries(
    st.sampled_from(["today", "yesterday", "last_7d", "lifetime", "last_3h"]),
    st.dictionaries(st.sampled_from(METRICS), values, max_size=6).map(MappingProxyType),
    max_size=4,
)


@st.composite
def rows(draw: st.DrawFn) -> EntityFields:
    return (
        draw(st.text(min_size=1, max_size=20)),
        draw(texts),
        draw(texts),
        draw(texts),
        draw(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))),
        draw(texts),
        draw(texts),
        draw(texts),
        draw(st.booleans()),
    )


def public(level: Level, row: EntityFields, metrics: Any) -> EntityState:
    entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, smart_plus = row
    return EntityState(
        level=level,
        id=entity_id,
        advertiser_id=ADV,
        name=name,
        operation_status=operation,
        secondary_status=secondary,
        budget=budget,
        budget_mode=mode,
        campaign_id=campaign_id,
        adgroup_id=adgroup_id,
        metrics=metrics,
        smart_plus=smart_plus,
    )


def every_field(state: EntityState) -> list[tuple[type, Any]]:
    return [(type(getattr(state, f.name)), getattr(state, f.name)) for f in dataclasses.fields(EntityState)]


def metric_types(state: EntityState) -> dict[str, dict[str, type]]:
    return {w: {k: type(v) for k, v in m.items()} for w, m in state.metrics.items()}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Level)), st.lists(rows(), max_size=8), st.data())
def test_built_states_are_the_public_constructors(level: Level, listed: list[EntityFields], data: Any) -> None:
    given_windows = {row[0]: data.draw(windows) for row in listed if data.draw(st.booleans())}
    plain = {i: {w: dict(m) for w, m in ws.items()} for i, ws in given_windows.items()}  # as a caller may pass them
    built = build_states(level, ADV, listed, {i: dict(ws) for i, ws in given_windows.items()})
    expected = [public(level, row, plain.get(row[0])) for row in listed]
    assert built == expected
    assert [every_field(s) for s in built] == [every_field(s) for s in expected]
    assert [metric_types(s) for s in built] == [metric_types(s) for s in expected]  # 0 stays 0, 0.0 stays 0.0
    assert [repr(s) for s in built] == [repr(s) for s in expected]
    for state in built:
        assert type(state.metrics) is MappingProxyType
        assert all(type(window) is MappingProxyType for window in state.metrics.values())
        if not state.metrics:
            assert state.metrics is EMPTY
        assert state.changed_by is None and state.with_changed_by("a person").changed_by == "a person"
        assert dataclasses.replace(state, name="x") == dataclasses.replace(public(level, _row(state), None), name="x",
                                                                          metrics=state.metrics)  # fmt: skip
        with pytest.raises(dataclasses.FrozenInstanceError):
            state.name = "changed"  # type: ignore[misc]


def _row(state: EntityState) -> EntityFields:
    return (
        state.id, state.name, state.operation_status, state.secondary_status, state.budget, state.budget_mode,
        state.campaign_id, state.adgroup_id, state.smart_plus,
    )  # fmt: skip


def test_each_entitys_windows_are_handed_over_not_copied() -> None:
    today = MappingProxyType({"spend": 1.5, "conversion": 0})
    mine = {"today": today}
    (state,) = build_states(Level.AD, ADV, [("1", "ad", None, None, None, None, "10", "20", False)], {"1": mine})
    assert state.metrics["today"] is today  # the window itself
    mine["yesterday"] = today  # the caller's dict is the state's (it must not change it: see build_states)
    assert "yesterday" in state.metrics
    with pytest.raises(TypeError):
        state.metrics["x"] = today  # type: ignore[index]


def test_a_read_only_dict_of_windows_is_the_states_own() -> None:
    today = ReadOnlyDict(spend=1.5, conversion=0)
    mine = ReadOnlyDict(today=today)  # as the fetch makes them (monitor.fetch_states)
    (state,) = build_states(Level.AD, ADV, [("1", "ad", None, None, None, None, "10", "20", False)], {"1": mine})
    assert state.metrics is mine and state.metrics["today"] is today  # not wrapped: read-only already
    assert state == EntityState(level=Level.AD, id="1", advertiser_id=ADV, name="ad", campaign_id="10",
                                adgroup_id="20", metrics={"today": {"spend": 1.5, "conversion": 0}})  # fmt: skip


def test_an_entity_without_windows_has_the_shared_empty_metrics() -> None:
    listed = [
        ("1", None, None, None, None, None, None, None, False),
        ("2", None, None, None, None, None, None, None, False),
    ]
    one, two = build_states(Level.CAMPAIGN, ADV, listed, {"2": {}})
    assert one.metrics is EMPTY and two.metrics is EMPTY and one.metric("spend") is None


def test_a_level_that_is_not_a_level_is_refused() -> None:
    with pytest.raises(TypeError):
        build_states("ad", ADV, [], {})  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Level)), rows(), windows, st.booleans())
def test_restored_states_are_the_public_constructors(level: Level, row: EntityFields, given: Any, empty: bool) -> None:
    """What the store reads back (monitor.store.snapshots): the same state ``EntityState(...)`` builds, its metrics
    (stored text, or the shared empty ones) the very object given."""
    metrics = EMPTY if empty else StoredMetrics(fastjson.dumps({w: dict(m) for w, m in given.items()}))
    entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, _ = row
    values = (level, entity_id, ADV, name, operation, secondary, budget, mode, campaign_id, adgroup_id, metrics)
    restored, expected = restored_state(*values), EntityState(*values)
    assert restored == expected and repr(restored) == repr(expected)
    assert every_field(restored) == every_field(expected)
    assert restored.metrics is metrics and expected.metrics is metrics
    assert not restored.smart_plus and restored.changed_by is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        restored.name = "changed"  # type: ignore[misc]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(Level)), st.lists(rows(), max_size=8), st.data())
def test_known_states_lend_their_id_and_equal_name_strings(level: Level, listed: list[EntityFields], data: Any) -> None:
    """With the previous snapshot's states, each new state holds the known state's very id string, and its name
    string where equal; otherwise the very states built without them (equal, every field of the same type)."""
    other = Level.AD if level is not Level.AD else Level.CAMPAIGN
    known: dict[Any, EntityState] = {}
    for row in listed:
        entity_id, name = "".join(["", row[0]]), data.draw(st.sampled_from([row[1], f"{row[1]} (before)", None]))
        old = public(level, (entity_id, name, *row[2:]), None)  # an equal id, another string object
        known[(level if data.draw(st.booleans()) else other, row[0])] = old  # of another level: not this entity
    plain, sharing = build_states(level, ADV, listed, {}), build_states(level, ADV, listed, {}, known)
    assert sharing == plain
    assert [every_field(s) for s in sharing] == [every_field(s) for s in plain]
    for state, row in zip(sharing, listed, strict=True):
        old = known.get((level, row[0]))
        if old is None:
            assert state.id is row[0] and state.name is row[1]
        else:
            assert state.id is old.id
            assert state.name is (old.name if row[1] is not None and row[1] == old.name else row[1])
