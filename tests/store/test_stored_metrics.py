"""The previous snapshot's metrics stay the stored text until read (issue 18): they read exactly as decoded
metrics, and a poll compares them as text without decoding them, finding every change it found before; what the
comparison learns is handed to them (an unchanged entity's metrics become the new ones), so nothing decodes them
again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

from monitor import fastjson
from monitor.domain import EntityState, Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, freeze_metrics
from monitor.store import Store
from monitor.store.poll_changes import poll_changes

from .conftest import ADV, T0, latest_snapshot, state

TODAY: dict[str, dict[str, Any]] = {"today": {"spend": 12.5, "clicks": 3, "ctr": None}, "lifetime": {"spend": 0.0}}


def stored(metrics: dict[str, dict[str, Any]]) -> StoredMetrics:
    return StoredMetrics(fastjson.dumps(metrics))


def test_stored_metrics_read_as_the_decoded_metrics() -> None:
    metrics = stored(TODAY)
    assert not metrics.decoded
    assert metrics == TODAY and dict(metrics["today"]) == TODAY["today"] and len(metrics) == 2
    assert metrics.decoded
    assert set(metrics) == {"today", "lifetime"} and "today" in metrics and "yesterday" not in metrics
    assert metrics.get("yesterday", EMPTY) is EMPTY  # what the compiled rules pass and test for
    assert type(metrics["lifetime"]["spend"]) is float and type(metrics["today"]["clicks"]) is int
    with pytest.raises(TypeError):
        metrics["today"]["spend"] = 1


def test_a_state_keeps_stored_metrics_undecoded() -> None:
    entity = state("a1", metrics=None)
    kept = EntityState(entity.level, entity.id, entity.advertiser_id, metrics=stored(TODAY))
    assert type(kept.metrics) is StoredMetrics and not kept.metrics.decoded
    assert kept.metric("spend") == 12.5


def as_stored(entity: EntityState) -> EntityState:
    """The entity as the store reads it back (its metrics as stored text)."""
    return replace(entity, metrics=stored({w: dict(v) for w, v in entity.metrics.items()}))


@pytest.mark.parametrize(
    ("new_metrics", "new_fields", "changed"),
    [
        (TODAY, {}, False),
        ({"today": {"spend": 12.5, "clicks": 3, "ctr": None}, "lifetime": {"spend": 0}}, {}, True),  # 0.0 -> 0
        ({"today": {"spend": 13.0, "clicks": 3, "ctr": None}, "lifetime": {"spend": 0.0}}, {}, True),
        ({"today": {"spend": 12.5, "clicks": 3, "ctr": 0.0}, "lifetime": {"spend": 0.0}}, {}, True),  # None -> 0.0
        ({"today": {"spend": 12.5, "clicks": 3, "ctr": None}}, {}, True),  # a window no longer reported
        (TODAY, {"name": "renamed"}, True),
        (TODAY, {"operation_status": "DISABLE"}, True),
        (TODAY, {"budget": 50.0}, True),
    ],
)
def test_a_poll_finds_the_same_changes_on_stored_text_as_on_values(
    new_metrics: dict[str, dict[str, Any]], new_fields: dict[str, Any], changed: bool
) -> None:
    old = state("a1", metrics=TODAY)
    new = state("a1", metrics=new_metrics, **new_fields)
    by_value, _ = poll_changes({old.key: old}, {new.key: new}, [Level.AD])
    kept = as_stored(old)
    by_text, history = poll_changes({kept.key: kept}, {new.key: new}, [Level.AD])
    assert bool(by_value) is changed and bool(by_text) is changed
    assert by_text == by_value
    assert kept.metrics.decoded  # type: ignore[attr-defined]  # handed what the comparison read
    assert {w: dict(v) for w, v in kept.metrics.items()} == TODAY
    assert type(kept.metrics["lifetime"]["spend"]) is float
    if changed and new_metrics != TODAY:
        assert history.windows


async def test_a_warm_poll_decodes_nothing_twice_and_writes_only_the_changed_row(store: Store) -> None:
    entities = [state(f"a{i}", metrics=TODAY) for i in range(5)]
    async with store.poll(ADV, T0) as poll:
        poll.save(entities)
    moved = state("a0", metrics={**TODAY, "today": {"spend": 20.0, "clicks": 3, "ctr": None}})
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        previous = poll.previous
        assert previous is not None
        assert all(type(e.metrics) is StoredMetrics for e in previous.entities.values())
        poll.save([moved, *entities[1:]])
    for same in entities[1:]:  # unchanged: the previous metrics are the new windows, nothing decoded
        assert previous.get(Level.AD, same.id).metrics["today"] is same.metrics["today"]  # type: ignore[union-attr]
    assert previous.get(Level.AD, "a0").metric("spend") == 12.5  # type: ignore[union-attr]  # as the history parsed it
    runs = await store.polls(ADV)
    assert runs[0].rows_written == 1
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None and snapshot.get(Level.AD, "a0").metric("spend") == 20.0  # type: ignore[union-attr]


async def test_an_unchanged_smart_plus_entity_writes_no_row(store: Store) -> None:
    """``smart_plus`` comes from the API each poll and is not stored: a state read back says False, which is no
    change (it made every Upgraded Smart+ entity's row be written again at every poll)."""
    entities = [state("c1", Level.CAMPAIGN, metrics=TODAY, smart_plus=True), state("a1", metrics=TODAY)]
    for minutes in (0, 5):
        async with store.poll(ADV, T0 + timedelta(minutes=minutes)) as poll:
            poll.save(entities)
    runs = await store.polls(ADV)
    assert [run.rows_written for run in runs] == [0, 2]  # newest first


def test_metrics_handed_over_parsed_read_exactly_as_decoded_ones() -> None:
    text = fastjson.dumps(TODAY)
    fresh, handed = StoredMetrics(text), StoredMetrics(text)
    assert handed.parse_text(hand_over=True) == (fastjson.loads(text), text)
    assert handed.decoded and not handed.text_held and handed.text == text  # let go; encoded again alike
    today = handed["today"]
    assert type(today) is MappingProxyType and handed.get("today") is today  # wrapped once, when first read
    with pytest.raises(TypeError):
        today["spend"] = 1.0  # type: ignore[index]
    assert handed.get("yesterday", "none") == "none" and "yesterday" not in handed
    with pytest.raises(KeyError):
        handed["yesterday"]
    assert type(handed.get("lifetime")["spend"]) is float
    assert list(handed) == list(fresh) and handed == fresh
    assert all(type(w) is MappingProxyType for w in handed.values())


def test_adopted_metrics_are_taken_only_while_nothing_was_read_or_handed_over() -> None:
    text = fastjson.dumps(TODAY)
    new = freeze_metrics(fastjson.loads(text))
    adopted = StoredMetrics(text)
    adopted.adopt(new)
    assert adopted["today"] is new["today"] and adopted.decoded
    adopted.adopt(freeze_metrics(fastjson.loads(text)))  # the first hand-over stays
    assert adopted["today"] is new["today"]
    read, parsed = StoredMetrics(text), StoredMetrics(text)
    first = read["today"]
    read.adopt(new)
    assert read["today"] is first
    parsed.parse_text(hand_over=True)
    parsed.adopt(new)
    assert parsed["today"] is not new["today"] and parsed == new
