"""What changed between two snapshots of one advertiser. Pure: no database, no clock.

* ``appeared``: in the current snapshot, not in the previous one. On the first poll (no previous snapshot)
  every entity appeared; first sight is never a "change".
* ``disappeared``: in the previous snapshot, not in the current one (deleted, or no longer returned).
* ``changed``: one :class:`FieldChange` per tracked field (``name``, ``operation_status``, ``secondary_status``,
  ``budget``, ``budget_mode``) whose value differs, for entities in both snapshots.
* ``metric_deltas``: one :class:`MetricDelta` per (window, metric) whose value differs, for entities in both.
  ``delta`` is ``after - before`` when both are numbers, else ``None``: "no data" is not zero, so a metric
  going from ``None`` to ``0`` is reported (it now has data) but has no numeric delta. A "today" metric that
  falls (the account's day rolled over) gives a negative delta: the diff reports facts, rules interpret them.

Everything is ordered from the top of the account tree down, then by id, so results are stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, ne
from typing import Any

from monitor.domain import (
    LEVEL_ORDER,
    TRACKED_FIELDS,
    EntityKey,
    EntityState,
    MetricValue,
    Snapshot,
    moved_keys,
    sorted_states,
)


@dataclass(frozen=True)
class FieldChange:
    key: EntityKey
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class MetricDelta:
    key: EntityKey
    window: str
    metric: str
    before: MetricValue
    after: MetricValue
    delta: float | int | None


@dataclass(frozen=True)
class SnapshotDiff:
    appeared: tuple[EntityState, ...] = ()
    disappeared: tuple[EntityState, ...] = ()
    changed: tuple[FieldChange, ...] = ()
    metric_deltas: tuple[MetricDelta, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.appeared or self.disappeared or self.changed or self.metric_deltas)

    def changed_fields(self, key: EntityKey) -> frozenset[str]:
        """The tracked fields of one entity that changed (empty for appeared, disappeared or unchanged ones)."""
        return frozenset(c.field for c in self.changed if c.key == key)


def diff_snapshots(
    previous: Snapshot | None,
    current: Snapshot,
    *,
    metrics: bool = True,
    moved: Sequence[EntityKey] | None = None,
) -> SnapshotDiff:
    """Compare two snapshots of the same advertiser (``previous`` None means first sight of everything).
    ``metrics=False`` leaves ``metric_deltas`` empty: a poll needs only the entities and fields that changed, and
    comparing a 100,000-ad snapshot's metrics costs more than everything else in the diff.

    An entity whose previous state is its very state object differs in nothing, and is set apart without a look
    at its fields: a poll's previous snapshot holds the new state itself for each entity the store found
    unchanged (monitor.store.lean: 75-90 % of a large account's), so only the others are looked at one by one.
    ``moved``: those others, when the caller has them already (:func:`~monitor.domain.moved_keys` of the two
    snapshots' entities; more keys of ``current``, each once, do no harm)."""
    if previous is not None and previous.advertiser_id != current.advertiser_id:
        raise ValueError(f"snapshots of different advertisers: {previous.advertiser_id}, {current.advertiser_id}")
    before = {} if previous is None else previous.entities
    after = current.entities
    if moved is None:  # the keys of the states that are not their previous state, those that appeared included
        moved = moved_keys(before, after)
    appeared = sorted_states(after[k] for k in moved if k not in before)
    both = [k for k in moved if k in before]
    # every previous key is among the current ones unless fewer of them are than the previous snapshot holds
    gone = len(before) > len(after) - len(appeared)
    disappeared = sorted_states(s for k, s in before.items() if k not in after) if gone else []
    changed: list[FieldChange] = []
    deltas: list[MetricDelta] = []
    if not metrics:  # the tracked fields of each entity in both, compared at once; only those that differ sorted
        olds, news = map(_tracked, map(before.__getitem__, both)), map(_tracked, map(after.__getitem__, both))
        differ = list(compress(both, map(ne, olds, news)))  # (in C: no Python step per entity)
        for key in sorted(differ, key=lambda k: (LEVEL_ORDER[k[0]], k[1])):
            changed += field_changes(before[key], after[key])
        return SnapshotDiff(tuple(appeared), tuple(disappeared), tuple(changed), ())
    for key in sorted(both, key=lambda k: (LEVEL_ORDER[k[0]], k[1])):
        old, new = before[key], after[key]
        if old == new:
            continue
        changed.extend(field_changes(old, new))
        deltas.extend(metric_deltas(old, new))
    return SnapshotDiff(tuple(appeared), tuple(disappeared), tuple(changed), tuple(deltas))


_tracked = attrgetter(*TRACKED_FIELDS)


def field_changes(old: EntityState, new: EntityState) -> list[FieldChange]:
    out = []
    for name in TRACKED_FIELDS:
        a, b = getattr(old, name), getattr(new, name)
        if a != b or (a is None) != (b is None):
            out.append(FieldChange(new.key, name, a, b))
    return out


def metric_deltas(old: EntityState, new: EntityState) -> list[MetricDelta]:
    out = []
    for window in sorted(old.metrics.keys() | new.metrics.keys()):
        a_values, b_values = old.metrics.get(window, {}), new.metrics.get(window, {})
        for metric in sorted(a_values.keys() | b_values.keys()):
            a, b = a_values.get(metric), b_values.get(metric)
            if a == b and (a is None) == (b is None):
                continue
            out.append(MetricDelta(new.key, window, metric, a, b, _delta(a, b)))
    return out


def _delta(a: MetricValue, b: MetricValue) -> float | int | None:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return b - a
    return None
