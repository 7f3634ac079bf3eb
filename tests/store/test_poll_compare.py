"""A poll compares its snapshot with the previous one before the rules run (issue 18), and what the comparison
learns of the previous metrics is kept: an unchanged entity's previous metrics become the new ones, a changed
entity's are those the comparison parsed. So the rules' reads of the previous poll (``delta``, ``prev``) decode
nothing, and read exactly what the stored text says: equal values of equal types, read-only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityState, Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import READ_ONLY
from monitor.store import Store
from monitor.store.poll_changes import poll_changes
from monitor.store.snapshots import EntityValues, MetricsMoved

from .conftest import ADV, T0, latest_snapshot, state
from .test_fingerprint import as_read, moved, state_of


def typed(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, tuple[type, Any]]]:
    """Metrics with each value's type: ``0`` and ``0.0`` read differently."""
    return {w: {k: (type(v), v) for k, v in values.items()} for w, values in metrics.items()}


def reads_as_its_text(metrics: StoredMetrics) -> bool:
    """Does ``metrics`` read exactly as its stored text decodes, windows read-only?"""
    fresh = StoredMetrics(metrics.text)
    read_only = all(type(window) in READ_ONLY for window in metrics.values())
    return typed(metrics) == typed(fresh) and read_only


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 6))
def test_after_comparing_every_previous_entity_reads_as_its_stored_text(data: st.DataObject, n: int) -> None:
    olds = [data.draw(state_of(f"a{i}")) for i in range(n)]
    news = [data.draw(moved(old)) for old in olds]
    previous = {s.key: as_read(s, decoded=False) for s in olds}

    poll_changes(previous, {s.key: s for s in news}, [Level.AD])

    for old, new in zip(previous.values(), news, strict=True):
        metrics = old.metrics
        assert isinstance(metrics, StoredMetrics)
        assert metrics.decoded  # nothing left for a rule to decode
        assert reads_as_its_text(metrics)
        if metrics.text == fastjson.dumps(new.metrics):
            assert all(metrics[w] is new.metrics[w] for w in new.metrics)  # the new windows themselves


def test_a_value_whose_type_changed_reads_with_its_old_type() -> None:
    old = state("a1", metrics={"today": {"spend": 0, "clicks": 3}})
    new = replace(old, metrics={"today": {"spend": 0.0, "clicks": 3}})
    previous = {old.key: as_read(old, decoded=False)}
    rows, _ = poll_changes(previous, {new.key: new}, [Level.AD])
    assert [r.entity_id for r in rows] == ["a1"]  # 0 -> 0.0 is a change
    spend = previous[old.key].metrics["today"]["spend"]
    assert type(spend) is int and spend == 0


async def _two_polls(store: Store, first: list[EntityState], second: list[EntityState], compare: bool) -> Any:
    async with store.poll(ADV, T0) as poll:
        poll.save(first)
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        previous = poll.previous
        poll.save(second)
        if compare:
            await poll.compare()
        decoded = {k: s.metrics.decoded for k, s in previous.entities.items()}  # type: ignore[union-attr]
        windows = {k: dict(s.metrics) for k, s in previous.entities.items()}  # type: ignore[union-attr]
    return decoded, windows


@pytest.mark.parametrize("compare", [False, True])
async def test_a_poll_that_compares_first_commits_the_same_rows_and_hands_the_rules_decoded_metrics(
    store: Store, compare: bool
) -> None:
    same = state("a1", metrics={"today": {"spend": 1.5, "impressions": 10}})
    moving = state("a2", metrics={"today": {"spend": 2.0, "impressions": 10}})
    moved_on = replace(moving, metrics={"today": {"spend": 3.25, "impressions": 12}})
    decoded, windows = await _two_polls(store, [same, moving], [same, moved_on], compare)
    if compare:
        assert all(decoded.values())  # compared before the rules read: nothing of it is decoded again
    else:
        assert not any(decoded.values())  # nothing has read the previous poll yet
    assert typed(windows[same.key]) == typed(same.metrics)
    assert typed(windows[moving.key]) == typed(moving.metrics)
    latest = await latest_snapshot(store, ADV)
    assert latest is not None
    assert typed(latest.entities[moving.key].metrics) == typed(moved_on.metrics)
    assert latest.entities[same.key] == same


async def test_saving_again_after_comparing_compares_again(store: Store) -> None:
    ad = state("a1", metrics={"today": {"spend": 1.0}})
    async with store.poll(ADV, T0) as poll:
        poll.save([ad])
    campaign = state("c1", Level.CAMPAIGN, metrics={"today": {"spend": 9.0}})
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        poll.save([replace(ad, metrics={"today": {"spend": 2.0}})], levels=[Level.AD])
        await poll.compare()
        poll.save([campaign], levels=[Level.CAMPAIGN])  # a level saved after comparing is not forgotten
    latest = await latest_snapshot(store, ADV)
    assert latest is not None
    assert latest.entities[campaign.key] == campaign
    assert latest.entities[ad.key].metrics["today"]["spend"] == 2.0


def test_an_integer_past_64_bits_reaches_the_rules_as_the_store_reads_it() -> None:
    """Such a count is stored as a float (monitor.fastjson): an unchanged entity's previous metrics are read from
    the text then, not taken from the new poll's exact integer (prev and delta keep the stored form)."""
    new = state("a1", metrics={"today": {"impressions": 2**64 + 5}})
    previous = {new.key: as_read(new, decoded=False)}
    rows, _ = poll_changes(previous, {new.key: new}, [Level.AD])
    assert rows == []
    metrics = previous[new.key].metrics
    assert isinstance(metrics, StoredMetrics) and reads_as_its_text(metrics)
    assert type(metrics["today"]["impressions"]) is float


def test_a_changed_entity_keeps_its_own_copy_only_of_the_windows_that_moved() -> None:
    """A large account's previous poll would otherwise hold every changed entity's metrics parsed (about 1 kB an
    entity): a window that did not change is the new poll's own window, read-only; one that moved reads its old
    values."""
    old = state("a1", metrics={"today": {"spend": 1.5, "clicks": 3}, "lifetime": {"spend": 90.0, "clicks": 0}})
    new = replace(old, metrics={"today": {"spend": 2.5, "clicks": 4}, "lifetime": {"spend": 90.0, "clicks": 0}})
    previous = {old.key: as_read(old, decoded=False)}
    poll_changes(previous, {new.key: new}, [Level.AD])
    metrics = previous[old.key].metrics
    assert metrics["lifetime"] is new.metrics["lifetime"]
    assert dict(metrics["today"]) == {"spend": 1.5, "clicks": 3}
    assert isinstance(metrics, StoredMetrics) and reads_as_its_text(metrics)


@pytest.mark.parametrize(("before", "after"), [(-0.0, 0.0), (0.0, -0.0)])
def test_a_zero_that_changed_sign_reads_as_it_was_stored(before: float, after: float) -> None:
    """``-0.0 == 0.0``: a window that differs only there is not taken from the new poll."""
    old = state("a1", metrics={"today": {"spend": 1.5}, "lifetime": {"spend": before}})
    new = replace(old, metrics={"today": {"spend": 2.5}, "lifetime": {"spend": after}})
    previous = {old.key: as_read(old, decoded=False)}
    poll_changes(previous, {new.key: new}, [Level.AD])
    spend = previous[old.key].metrics["lifetime"]["spend"]
    assert isinstance(spend, float)
    assert math.copysign(1.0, spend) == math.copysign(1.0, before)


def test_a_list_within_a_window_is_never_taken_from_the_new_poll() -> None:
    """``[0] == [0.0]``: a window holding a list (the fetch never makes one) keeps its own parsed copy."""
    old = state("a1", metrics={"today": {"spend": 1.5}, "lifetime": {"m": [0]}})  # type: ignore[dict-item]
    new = replace(old, metrics={"today": {"spend": 2.5}, "lifetime": {"m": [0.0]}})
    previous = {old.key: as_read(old, decoded=False)}
    poll_changes(previous, {new.key: new}, [Level.AD])
    kept = previous[old.key].metrics["lifetime"]["m"]
    assert [type(v) for v in kept] == [int]  # type: ignore[union-attr]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(1, 6))
def test_a_changed_entitys_previous_text_is_let_go_and_reads_back_the_same(data: st.DataObject, n: int) -> None:
    olds = [data.draw(state_of(f"a{i}")) for i in range(n)]
    news = [data.draw(moved(old)) for old in olds]
    previous = {s.key: as_read(s, decoded=False) for s in olds}
    texts = {key: cast(StoredMetrics, s.metrics).text for key, s in previous.items()}

    rows, _ = poll_changes(previous, {s.key: s for s in news}, [Level.AD])

    changed = {(Level(r.level), r.entity_id) for r in rows}
    for key, old in previous.items():
        metrics = cast(StoredMetrics, old.metrics)
        assert metrics.text == texts[key]  # the same text, kept or encoded again
        if key in changed and texts[key] != "{}":  # ("{}" may be one constant string object)
            assert metrics.text is not texts[key]  # the comparison parsed it and let the text go
    # compared again (a poll that saves another level), the same rows
    assert poll_changes(previous, {s.key: s for s in news}, [Level.AD])[0] == rows


def test_disappeared_entities_are_found_when_as_many_appeared_and_only_at_the_saved_levels() -> None:
    kept, gone = state("a1", metrics={"today": {"spend": 1}}), state("a2")
    campaign = EntityState(Level.CAMPAIGN, "c9", ADV)  # of a level this poll does not save: not gone
    arrived = state("a3")
    previous = {s.key: as_read(s, decoded=False) for s in (kept, gone, campaign)}
    rows, history = poll_changes(previous, {kept.key: kept, arrived.key: arrived}, [Level.AD])
    assert [(r.entity_id, r.present) for r in rows] == [("a2", False), ("a3", True)]
    assert [(e.key, e.present) for e in history.states] == [(arrived.key, True), (gone.key, False)]
    rows, history = poll_changes(previous, {kept.key: kept}, [Level.AD, Level.CAMPAIGN])
    assert [(r.entity_id, r.present) for r in rows] == [("c9", False), ("a2", False)]
    del previous[campaign.key]  # as many entities as before, one of them new
    rows, _ = poll_changes(previous, {kept.key: kept, arrived.key: arrived}, [Level.AD])
    assert [(r.entity_id, r.present) for r in rows] == [("a2", False), ("a3", True)]


def test_the_rows_of_entities_whose_metrics_alone_moved_say_so_by_their_type() -> None:
    """The commit updates only the metrics of those (monitor.store.poll_write): present before with the same
    fields, stored text or not; a renamed, a paused, a moved, a new or a gone entity's row is a plain one."""
    olds = [state(f"a{i}", metrics={"today": {"spend": 1}}) for i in range(6)]
    news = [replace(s, metrics={"today": {"spend": 2}}) for s in olds]
    news[1] = replace(news[1], name="renamed")
    news[2] = replace(news[2], operation_status="DISABLE", metrics=olds[2].metrics)  # its fields alone
    news[3] = replace(news[3], adgroup_id="g-other")
    news[5] = state("a9")  # new; a5 gone
    for decoded in (False, True, None):  # None: a previous snapshot built in memory (no stored text)
        previous = {s.key: s if decoded is None else as_read(s, decoded) for s in olds}
        rows, _ = poll_changes(previous, {s.key: s for s in news}, [Level.AD])
        kinds = {r.entity_id: (type(r) is MetricsMoved, r.present) for r in rows}
        assert kinds == {
            "a0": (True, True),
            "a1": (False, True),
            "a2": (False, True),
            "a3": (False, True),
            "a4": (True, True),
            "a5": (False, False),
            "a9": (False, True),
        }
        assert all(type(r) in (EntityValues, MetricsMoved) for r in rows)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(1, 6))
def test_at_a_level_no_rule_reads_the_previous_metrics_of_the_comparison_keep_their_text_undecoded(
    data: st.DataObject, n: int
) -> None:
    """``parsed_levels`` leaves the ad level out: a changed ad's previous text is parsed to compare its windows,
    then let go (the text, about half the size, is kept): the same rows and history rows, and the previous
    metrics still read as their text, decoded when read."""
    olds = [data.draw(state_of(f"a{i}")) for i in range(n)]
    news = [data.draw(moved(old)) for old in olds]
    saved = {s.key: s for s in news}
    handed = {s.key: as_read(s, decoded=False) for s in olds}
    kept = {s.key: as_read(s, decoded=False) for s in olds}
    texts = {key: cast(StoredMetrics, s.metrics).text for key, s in kept.items()}

    expected = poll_changes(handed, saved, [Level.AD])
    got = poll_changes(kept, saved, [Level.AD], parsed_levels=frozenset({Level.CAMPAIGN}))

    assert got == expected
    changed = {(Level(r.level), r.entity_id) for r in got[0]}
    for key, old in kept.items():
        metrics = cast(StoredMetrics, old.metrics)
        if key in changed and texts[key] != fastjson.dumps(saved[key].metrics):
            assert not metrics.decoded  # let go: nothing parsed held for the rest of the poll
            assert metrics.text is texts[key]  # the text as read, not encoded again
        elif key in changed:  # only its fields changed: its metrics adopted the new ones, and the text is let go
            assert metrics.decoded and not metrics.text_held
        assert reads_as_its_text(metrics)  # decoded when read, as the rules would
        assert typed(metrics) == typed(handed[key].metrics)


def test_the_levels_whose_previous_metrics_are_read_keep_them_parsed() -> None:
    old = state("a1", metrics={"today": {"spend": 1.5}})
    new = replace(old, metrics={"today": {"spend": 2.5}})
    previous = {old.key: as_read(old, decoded=False)}
    poll_changes(previous, {new.key: new}, [Level.AD], parsed_levels=frozenset({Level.AD}))
    metrics = cast(StoredMetrics, previous[old.key].metrics)
    assert metrics.decoded
    assert metrics["today"]["spend"] == 1.5


def test_the_history_rows_of_a_changed_entity_share_the_key_the_poll_holds() -> None:
    """One key tuple per changed entity, not one more per entity whose rows are written (``EntityState.key``
    makes a new tuple at each read: 80,000 of them, 10 MB, at a warm 100,000-ad poll's peak)."""
    old = state("a1", metrics={"today": {"spend": 1.5}})
    new = replace(old, metrics={"today": {"spend": 2.5}, "lifetime": {"spend": 3.0}}, operation_status="DISABLE")
    saved = {new.key: new}
    key = next(iter(saved))
    _, history = poll_changes({old.key: as_read(old, decoded=False)}, saved, [Level.AD])
    assert [event.key for event in history.windows] == [key, key]
    assert all(event.key is key for event in (*history.states, *history.windows))


def test_an_entity_whose_fields_alone_changed_lets_its_previous_text_go_at_every_level() -> None:
    """Its previous metrics adopt the new ones (equal text): the values are at hand, so the text is let go whether
    or not the level's previous metrics are read."""
    old = state("a1", metrics={"today": {"spend": 1.5}})
    new = replace(old, operation_status="DISABLE")
    for levels in (None, frozenset({Level.CAMPAIGN})):
        previous = {old.key: as_read(old, decoded=False)}
        rows, _ = poll_changes(previous, {new.key: new}, [Level.AD], parsed_levels=levels)
        metrics = cast(StoredMetrics, previous[old.key].metrics)
        assert [r.entity_id for r in rows] == ["a1"]
        assert metrics.decoded and not metrics.text_held
        assert metrics["today"] is new.metrics["today"]
