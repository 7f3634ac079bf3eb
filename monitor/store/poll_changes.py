"""Which rows one poll writes (pure): the entities that appeared, changed or disappeared, and their history rows.

An entity costs no row when nothing about it changed. When the previous state's metrics are still the stored
text (:class:`~monitor.domain.stored.StoredMetrics`, nothing has read them), the new metrics are encoded the way
the store writes them and compared as text: equal text is equal values of equal types (``0`` and ``0.0`` differ,
so what was saved reads back), and nothing of the previous snapshot is decoded. Otherwise the states are compared
as values, types included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from operator import attrgetter

from monitor import fastjson
from monitor.domain import LEVEL_ORDER, EntityKey, EntityState, Level, Metrics
from monitor.domain.stored import StoredMetrics
from monitor.store.history_codec import HistoryChanges, StateEvent, WindowEvent, check_values, entity_events
from monitor.store.snapshots import row_values

__all__ = ["poll_changes"]

#: Every compared field of a state but its metrics.
_fields = attrgetter(*(f.name for f in fields(EntityState) if f.compare and f.name != "metrics"))


def poll_changes(
    previous: Mapping[EntityKey, EntityState],
    saved: Mapping[EntityKey, EntityState],
    saved_levels: Iterable[Level],
) -> tuple[list[dict[str, object]], HistoryChanges]:
    """Rows for ``entities`` and the history's rows: each of ``saved`` that is new or changed against
    ``previous``, and each of ``previous`` of ``saved_levels`` that is no longer saved (it disappeared)."""
    levels = set(saved_levels)
    out = []
    states: list[StateEvent] = []
    windows: list[WindowEvent] = []
    for key, state in saved.items():
        old = previous.get(key)
        text = _unchanged_or_text(old, state)
        if text is None:
            continue  # unchanged: costs no row
        out.append(row_values(state, text, present=True))
        event, changed = entity_events(old, state)
        states += [event] if event is not None else []
        windows += changed
    for key, old in previous.items():
        if key[0] in levels and key not in saved:
            out.append(row_values(old, fastjson.dumps(old.metrics), present=False))
            event, changed = entity_events(old, None)
            states += [event] if event is not None else []
            windows += changed
    out.sort(key=lambda r: (LEVEL_ORDER[Level(r["level"])], r["entity_id"]))
    return out, HistoryChanges(tuple(states), tuple(windows))


def _unchanged_or_text(old: EntityState | None, new: EntityState) -> str | None:
    """None when ``new`` is ``old`` unchanged; else the stored text of ``new``'s metrics (checked first)."""
    stored = old.metrics if old is not None and type(old.metrics) is StoredMetrics else None
    as_text = stored is not None and not stored.decoded  # compared as text: nothing of ``old`` decoded
    if old is not None and not as_text and old == new and _same_metric_types(old.metrics, new.metrics):
        return None
    check_values(new)
    text = fastjson.dumps(new.metrics, finite=True)  # every float checked finite just above
    if as_text and text == stored.text and _fields(old) == _fields(new):  # type: ignore[union-attr]
        return None
    return text


def _same_metric_types(a: Metrics, b: Metrics) -> bool:
    """For equal metrics: are the types equal too? 0 -> 0.0 is stored as a change, so what was saved reads back."""
    for window, values in a.items():
        other = b[window]
        if list(map(type, values.values())) != list(map(type, map(other.__getitem__, values))):
            return False
    return True
