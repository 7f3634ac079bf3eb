"""Snapshot.of_level: the entities of one level, split once and kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from monitor.domain import EntityState, Level, Snapshot


def _state(level: Level, entity_id: str) -> EntityState:
    return EntityState(level=level, id=entity_id, advertiser_id="adv", name=f"n{entity_id}")


def _snapshot() -> Snapshot:
    states = [_state(Level.AD, "a2"), _state(Level.CAMPAIGN, "c1"), _state(Level.AD, "a1"), _state(Level.ADGROUP, "g1")]
    return Snapshot("adv", 1, datetime(2026, 12, 7, tzinfo=UTC), {s.key: s for s in states})


def test_each_level_in_the_snapshots_order_and_an_empty_level_empty() -> None:
    snapshot = _snapshot()
    assert [s.id for s in snapshot.of_level(Level.AD)] == ["a2", "a1"]
    assert [s.id for s in snapshot.of_level("campaign")] == ["c1"]
    assert [s.id for s in snapshot.of_level(Level.ADGROUP)] == ["g1"]
    assert snapshot.of_level(Level.ADVERTISER) == ()


def test_the_split_is_made_once_and_changes_neither_equality_nor_a_copy() -> None:
    snapshot, twin = _snapshot(), _snapshot()
    first = snapshot.of_level(Level.AD)
    assert snapshot.of_level(Level.AD) is first  # kept, not made again
    assert snapshot == twin and repr(snapshot) == repr(twin)  # the cache is no field
    other = replace(snapshot, entities={k: v for k, v in snapshot.entities.items() if k[0] is not Level.AD})
    assert other.of_level(Level.AD) == ()  # a changed copy splits its own entities
