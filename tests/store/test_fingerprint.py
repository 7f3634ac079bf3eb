"""A poll decides an unchanged entity by its fingerprint (the stored text of its metrics and its fields) instead
of comparing values (issue 18): over generated pairs of states it finds exactly the changes, writes exactly the
rows and history rows the general comparison does (0 -> 0.0, None, windows added or removed, metrics added or
removed, renames, statuses, budgets), and still refuses NaN and the infinities where the previous value was no
data (orjson writes both as ``null``)."""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityState, Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import ReadOnlyDict
from monitor.store.poll_changes import poll_changes, stored_text

from .conftest import ADV

WINDOWS = ("today", "yesterday", "last_7d", "lifetime")
METRICS = ("spend", "clicks", "ctr", "conversion")
STATUSES = (None, "ENABLE", "DISABLE")

# -0.0 is left out: its stored text differs from 0.0's while the values are equal (such an entity's row is written
# again once, its history unchanged: monitor.domain.stored).
values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x + 0.0),
    st.sampled_from([0, 0.0, 1, 1.0]),
    st.text(max_size=4),
)
windows = st.dictionaries(st.sampled_from(METRICS), values, max_size=len(METRICS))
metrics = st.dictionaries(st.sampled_from(WINDOWS), windows, max_size=len(WINDOWS))
budgets = st.one_of(st.none(), st.sampled_from([0, 0.0, 50.0, 50.5]))


def read_only(grid: dict[str, dict[str, Any]], kind: str) -> dict[str, Any] | ReadOnlyDict:
    """Windows made read-only as the store makes them (``proxy``) or as a poll's fetch does (``fetch``)."""
    if kind == "fetch":
        return ReadOnlyDict((w, ReadOnlyDict(v)) for w, v in grid.items())
    return {w: MappingProxyType(v) for w, v in grid.items()}


kinds = st.sampled_from(["proxy", "fetch"])


@st.composite
def state_of(draw: st.DrawFn, entity_id: str) -> EntityState:
    return EntityState(
        Level.AD,
        entity_id,
        ADV,
        name=draw(st.sampled_from([None, "ad", "ad renamed", "ÄD 名"])),
        operation_status=draw(st.sampled_from(STATUSES)),
        secondary_status=draw(st.sampled_from(STATUSES)),
        budget=draw(budgets),
        budget_mode=draw(st.sampled_from([None, "BUDGET_MODE_DAY"])),
        campaign_id="c1",
        adgroup_id="g1",
        metrics=read_only(draw(metrics), draw(kinds)),
    )


@st.composite
def moved(draw: st.DrawFn, old: EntityState) -> EntityState:
    """``old`` with a few of its fields, windows or values changed (or none: unchanged)."""
    new = old
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["field", "value", "type", "window", "metric"]))
        grid = {w: dict(v) for w, v in new.metrics.items()}
        if kind == "field":
            name = draw(st.sampled_from(["name", "operation_status", "secondary_status", "budget", "budget_mode"]))
            other = draw(state_of(old.id))
            new = replace(new, **{name: getattr(other, name)})
            continue
        if kind == "window":
            window = draw(st.sampled_from(WINDOWS))
            grid.pop(window) if window in grid else grid.setdefault(window, draw(windows))
        elif grid:
            window = draw(st.sampled_from(sorted(grid)))
            metric = draw(st.sampled_from(METRICS))
            now = grid[window].get(metric)
            if kind == "type" and type(now) in (int, float) and math.isfinite(now) and abs(now) < 2**53:
                grid[window][metric] = float(now) if type(now) is int else int(now)  # 0 <-> 0.0
            elif kind == "metric" and metric in grid[window]:
                del grid[window][metric]
            else:
                grid[window][metric] = draw(values)
        new = replace(new, metrics=read_only(grid, draw(kinds)))
    return new


def as_read(state: EntityState, decoded: bool) -> EntityState:
    """``state`` as the store reads it back: its metrics as their stored text (read by a rule or not)."""
    kept = replace(state, metrics=StoredMetrics(fastjson.dumps(state.metrics)))
    if decoded:
        len(kept.metrics)
    return kept


def differs(old: EntityState, new: EntityState) -> bool:
    """The general comparison, spelled out: any field, window, metric, value or type of a value."""
    if old != new:
        return True
    return any(
        type(value) is not type(new.metrics[w][name]) for w, v in old.metrics.items() for name, value in v.items()
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 6), decoded=st.booleans())
def test_the_fingerprint_finds_exactly_the_changes_the_general_comparison_finds(
    data: st.DataObject, n: int, decoded: bool
) -> None:
    olds = [data.draw(state_of(f"a{i}")) for i in range(n)]
    news = [data.draw(moved(old)) for old in olds]
    gone = data.draw(st.integers(0, n - 1))  # one entity is no longer saved: it disappeared
    saved = {s.key: s for i, s in enumerate(news) if i != gone}
    new = data.draw(state_of("n1"))  # one never seen before
    saved[new.key] = new
    in_memory = {s.key: s for s in olds}
    read_back = {s.key: as_read(s, decoded) for s in olds}

    by_values, history_by_values = poll_changes(in_memory, saved, [Level.AD])
    by_print, history_by_print = poll_changes(read_back, saved, [Level.AD])

    expected = {s.id for i, (o, s) in enumerate(zip(olds, news, strict=True)) if i == gone or differs(o, s)}
    expected.add(new.id)
    assert {r.entity_id for r in by_print} == expected
    assert by_print == by_values
    assert next(r for r in by_print if r.entity_id == "n1").metrics == fastjson.dumps(new.metrics)
    assert history_by_print == history_by_values
    kept = [s for i, s in enumerate(read_back.values()) if i != gone]
    assert all(s.metrics.decoded for s in kept)  # type: ignore[attr-defined]  # handed what it read: test_poll_compare


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("was", [None, 1.5])
def test_nan_and_infinities_are_refused_even_where_the_stored_text_says_null(bad: float, was: float | None) -> None:
    old = EntityState(Level.AD, "a1", ADV, metrics={"today": {"ctr": was, "clicks": 3}})
    new = replace(old, metrics={"today": {"ctr": bad, "clicks": 3}})
    assert stored_text(new) is None  # the general check decides
    with pytest.raises(ValueError, match="finite"):
        poll_changes({old.key: as_read(old, False)}, {new.key: new}, [Level.AD])


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"today": {"spend": 0, "cpc": 0.0, "ctr": None, "n": "x"}},
        {"today": {"spend": 1e-05, "big": 2**63 - 1}, "yesterday": {}},
        {"b": {"z": 1, "a": 2}, "a": {"é": "名"}},
    ],
)
def test_the_fingerprint_is_the_text_the_store_writes(metrics: dict[str, Any]) -> None:
    state = EntityState(Level.AD, "a1", ADV, metrics=metrics)
    assert stored_text(state) == fastjson.dumps(state.metrics)


def test_an_integer_past_64_bits_is_encoded_the_general_way_and_compared_as_text() -> None:
    old = EntityState(Level.AD, "a1", ADV, metrics={"today": {"impressions": 2**70}})
    assert stored_text(old) is None
    rows, _ = poll_changes({old.key: as_read(old, False)}, {old.key: old}, [Level.AD])
    assert rows == []


def test_floats_whose_sum_overflows_are_finite_all_the_same() -> None:
    huge = EntityState(Level.AD, "a1", ADV, metrics={"today": {"spend": 1e308, "budget": 1e308}})
    others = [EntityState(Level.AD, f"a{i}", ADV, metrics={"today": {"spend": 1.5}}) for i in range(2, 5)]
    previous = {s.key: as_read(s, False) for s in [huge, *others]}
    rows, _ = poll_changes(previous, {s.key: s for s in [huge, *others]}, [Level.AD])
    assert rows == []


def test_one_nan_among_many_entities_is_refused() -> None:
    olds = [EntityState(Level.AD, f"a{i}", ADV, metrics={"today": {"ctr": None}}) for i in range(50)]
    news = [*olds[:-1], replace(olds[-1], metrics={"today": {"ctr": math.nan}})]
    with pytest.raises(ValueError, match="finite"):
        poll_changes({s.key: as_read(s, False) for s in olds}, {s.key: s for s in news}, [Level.AD])
