"""diff_snapshots sets apart, unlooked at, each entity whose previous state is its very state object (a poll's
previous snapshot holds the new state itself for an entity the store found unchanged): on generated snapshots,
where entities are kept as the same object, made again equal, changed in a field or a metric, appeared or
disappeared, it gives what comparing every entity in both gives (the reference below, the diff as it was)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.domain import LEVEL_ORDER, EntityState, Level, Snapshot, sorted_states
from monitor.store import SnapshotDiff, diff_snapshots
from monitor.store.diff import field_changes, metric_deltas

from .conftest import ADV, T0, state

#: What becomes of one previous entity in the current snapshot.
FATES = ("same object", "equal copy", "name", "budget", "status", "metric", "gone")


def reference(previous: Snapshot | None, current: Snapshot, *, metrics: bool) -> SnapshotDiff:
    """Every entity in both snapshots compared, whatever it is (the diff before the shortcut)."""
    before = {} if previous is None else previous.entities
    after = current.entities
    appeared = sorted_states(s for k, s in after.items() if k not in before)
    disappeared = sorted_states(s for k, s in before.items() if k not in after)
    changed, deltas = [], []
    for key in sorted((k for k in after if k in before), key=lambda k: (LEVEL_ORDER[k[0]], k[1])):
        old, new = before[key], after[key]
        changed += field_changes(old, new)
        deltas += metric_deltas(old, new) if metrics else []
    return SnapshotDiff(tuple(appeared), tuple(disappeared), tuple(changed), tuple(deltas))


def fated(old: EntityState, fate: str) -> EntityState | None:
    changes: dict[str, Any] = {
        "same object": {},
        "equal copy": {"name": old.name},
        "name": {"name": f"{old.name} (renamed)"},
        "budget": {"budget": 5.0 if old.budget is None else old.budget + 1},
        "status": {"operation_status": "DISABLE"},
        "metric": {"metrics": {"today": {"spend": 1.5}}},
    }.get(fate, {})
    if fate == "gone":
        return None
    if fate == "same object":
        return old
    return replace(old, **changes)


@settings(max_examples=200, deadline=None)
@given(
    levels=st.lists(st.sampled_from([Level.CAMPAIGN, Level.ADGROUP, Level.AD]), max_size=12),
    fates=st.lists(st.sampled_from(FATES), min_size=12, max_size=12),
    new=st.lists(st.sampled_from([Level.CAMPAIGN, Level.ADGROUP, Level.AD]), max_size=4),
    first=st.booleans(),
    metrics=st.booleans(),
)
def test_the_shortcut_gives_what_comparing_every_entity_gives(
    levels: list[Level], fates: list[str], new: list[Level], first: bool, metrics: bool
) -> None:
    olds = [
        state(str(n), level, metrics={"today": {"spend": float(n)}} if n % 2 else None)
        for n, level in enumerate(levels)
    ]
    kept = [s for s in (fated(old, fate) for old, fate in zip(olds, fates, strict=False)) if s is not None]
    appeared = [state(f"new{n}", level) for n, level in enumerate(new)]
    previous = None if first else Snapshot(ADV, 1, T0, {s.key: s for s in reversed(olds)})
    current = Snapshot(ADV, 2, T0, {s.key: s for s in [*appeared, *kept]})
    assert diff_snapshots(previous, current, metrics=metrics) == reference(previous, current, metrics=metrics)
