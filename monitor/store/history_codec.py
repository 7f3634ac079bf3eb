"""The compact history's form, pure: which history rows one poll writes, and how a window's metrics are packed.

History is two kinds of rows, keyed by an entity's small integer ``sid`` (``entity_keys``) and the poll:

* a **state row** (``history_states``) when an entity appears, disappears, or one of :data:`STATE_FIELDS`
  changes (a rename is such an event: older snapshots keep the name they had). Parents (``campaign_id``,
  ``adgroup_id``) are not history: TikTok never moves an ad or ad group to another parent, so every snapshot
  reads them from ``entities`` (the current ones).
* a **window row** (``history_metrics``) per report window whose values changed: ``today`` moving on writes
  ``today`` alone, ``yesterday`` is written once a day. The values are packed as a JSON array in the order of a
  *metric set* (the window's sorted metric names, stored once in ``history_names``), so no key name is repeated;
  JSON keeps what the store promises: ``None`` stays ``None``, ``0`` stays ``0`` and ``0.0`` stays ``0.0``. A
  window that is no longer reported (or whose entity disappeared) is a row with no values (``None`` here).
  :func:`pack` packs one window's values; a poll's writer reads each window in its set's order
  (:func:`in_order`) and packs it (:func:`pack_ordered`), or a slice of them in one encoding (:func:`pack_many`),
  to the same text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from math import copysign
from operator import attrgetter, is_, itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson

from monitor import fastjson
from monitor.domain import EntityKey, EntityState, Metrics, MetricValue
from monitor.store.errors import UnstorableMetricsError
from monitor.store.values import dumps

#: The fields a state row holds (besides ``present``), in the order a row's columns list them.
STATE_FIELDS = ("name", "operation_status", "secondary_status", "budget", "budget_mode")

#: Kinds of ``history_names`` rows: a window's name, a metric set (JSON list of metric names).
WINDOW = "window"
METRIC_SET = "metrics"

Values = Mapping[str, MetricValue]


class StateEvent(NamedTuple):
    """An entity's state from this poll on: ``state`` (its fields) and whether it is present. (Tuples: a poll of
    a large account makes 100,000s of events, and a frozen dataclass costs several times a tuple to build.)"""

    key: EntityKey
    present: bool
    state: EntityState


class WindowEvent(NamedTuple):
    """One window's values of an entity from this poll on; ``values`` None: the window is not reported."""

    key: EntityKey
    window: str
    values: Values | None


@dataclass(frozen=True, slots=True)
class HistoryChanges:
    """What one poll adds to the history."""

    states: tuple[StateEvent, ...] = ()
    windows: tuple[WindowEvent, ...] = ()

    def __len__(self) -> int:
        return len(self.states) + len(self.windows)


def same_values(a: Values | None, b: Values) -> bool:
    """Equal values of equal types and signs (``0`` -> ``0.0`` and ``0.0`` -> ``-0.0`` are changes, so what was
    saved reads back); ``a`` None (no such window before) is never the same. The types are compared in C,
    without a generator's frames; the signs only where a value is zero."""
    if a != b or not all(map(is_, map(type, a.values()), map(type, map(b.__getitem__, a)))):
        return False
    values = a.values()  # a zero (0 == 0.0 == -0.0), then a float zero: mind its sign
    return 0 not in values or 0.0 not in filter(_is_float, values) or _same_zeros(a, b)


def _same_zeros(a: Values, b: Values) -> bool:
    """Of two windows equal in values and types: do their float zeros have the same signs (-0.0 == 0.0)?"""
    return all(copysign(1.0, v) == copysign(1.0, b[k]) for k, v in a.items() if type(v) is float and v == 0.0)  # type: ignore[arg-type]


def same_state(a: EntityState, b: EntityState) -> bool:
    """Do two states of one entity differ in nothing a state row holds?"""
    return _state_fields(a) == _state_fields(b)


def entity_events(
    old: EntityState | None,
    new: EntityState | None,
    old_metrics: Metrics | None = None,
    share: dict[str, Any] | None = None,
    key: EntityKey | None = None,
    same: Iterable[bool] = (),
) -> tuple[StateEvent | None, list[WindowEvent]]:
    """The rows that take an entity from ``old`` to ``new`` (None: absent then / gone now); ``old_metrics``:
    ``old``'s metrics in another form to compare windows with (plain dicts parsed from its stored text).
    ``share``: that form, the caller's own, to take ``new``'s window where it is the same (equal values of equal
    types), so that one copy of it is kept. ``key``: ``new``'s key (it must equal ``new.key``) as the caller
    holds it: the rows then share that tuple, rather than each changed entity's rows holding one of their own
    (``EntityState.key`` makes one at each read). ``same``: for ``new``'s windows in sorted order, whether each is
    known to be the same as before (equal values of equal types: monitor.store.poll_changes compares their text);
    a window not known (False, or past its end) is compared as values."""
    if new is None:
        if old is None:
            return None, []
        return StateEvent(old.key, False, old), [WindowEvent(old.key, w, None) for w in sorted(old.metrics)]
    key, metrics = new.key if key is None else key, new.metrics
    state = None if old is not None and _state_fields(old) == _state_fields(new) else StateEvent(key, True, new)
    before: Metrics = _NONE if old is None else old.metrics if old_metrics is None else old_metrics
    was = before.get
    windows, known = [], iter(same)
    for w, v in sorted(metrics.items()):
        if next(known, False):  # the same text
            if share is not None:
                share[w] = v
            continue
        a = was(w)  # same_values(a, v), inline (100,000s of windows a poll): equal values, of equal types, ...
        if a is None or a != v or not all(map(is_, map(type, a.values()), map(type, map(v.__getitem__, a)))):
            windows.append(_tuple_new(WindowEvent, (key, w, v)))  # not WindowEvent's __new__: a Python function
        elif 0 in (values := a.values()) and 0.0 in filter(_is_float, values) and not _same_zeros(a, v):
            windows.append(_tuple_new(WindowEvent, (key, w, v)))  # ... and a float zero's sign
        elif share is not None:
            share[w] = v
    if before.keys() != metrics.keys():  # a window no longer reported
        windows += [WindowEvent(key, w, None) for w in sorted(before) if w not in metrics]
    return state, windows


_PLAIN = (int, str, type(None))
_NONE: Metrics = MappingProxyType({})
_tuple_new = tuple.__new__
_is_float = float.__instancecheck__
_state_fields = attrgetter(*STATE_FIELDS)


def check_values(state: EntityState) -> None:
    """Refuse metrics the packed form cannot hold (NaN, infinities, objects)."""
    for window, values in state.metrics.items():
        if all(type(v) in _PLAIN or (type(v) is float and math.isfinite(v)) for v in values.values()):
            continue  # the common case, without encoding anything
        try:
            dumps(list(values.values()))
        except (TypeError, ValueError) as exc:
            raise UnstorableMetricsError(
                f"{state.level.value} {state.id}: metric values must be finite numbers, strings or None "
                f"(None for 'no data'), in window {window}: {exc}"
            ) from exc


def metric_set(values: Values) -> str:
    """The metric set of a window's values: its sorted names as JSON (the ``history_names`` value)."""
    return _set_text(tuple(values))


def pack(values: Values) -> str:
    """The values in the order of their metric set, as a JSON array."""
    return fastjson.dumps(list(map(values.__getitem__, _sorted(tuple(values)))))


def in_order(names: list[str]) -> Callable[[Values], tuple[Any, ...]]:
    """Reads a window's values in the order of ``names`` (its metric set's) into a tuple (in C)."""
    if not names:
        return lambda values: ()
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return itemgetter(*names)  # a tuple for two names or more


def pack_ordered(values: Values, ordered: Callable[[Values], tuple[Any, ...]]) -> str:
    """:func:`pack`'s text of ``values`` (``ordered``: their metric set's :func:`in_order`), encoded in one call;
    pack itself decides what orjson refuses and a ``null`` that is not a None (orjson writes NaN and the
    infinities as null; pack refuses them)."""
    row = ordered(values)
    try:
        text = orjson.dumps(row, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return pack(values)
    if b"null" in text and text.count(b"null") != row.count(None):
        return pack(values)
    return text.decode()


def pack_many(rows: list[tuple[Any, ...]]) -> list[str] | None:
    """:func:`pack_ordered`'s texts of many windows' values, each read in its metric set's order (``rows``), from
    one encoding of them all (a poll packs 10,000s, each encoded alone cost twice as much, most of it in Python):
    the array is split where one row ends and the next begins (``],[``; orjson writes no raw newline, so one
    marks the splits). None, so that each is packed by :func:`pack_ordered`, when a value holds ``],[`` itself
    (more splits than rows), when there is a ``null`` that is not a None (NaN, an infinity, a text that says
    null) or a value orjson refuses."""
    try:
        text = orjson.dumps(rows, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return None
    if "null" in text and text.count("null") != sum(map(tuple.count, rows, repeat(None))):
        return None
    texts = text[1:-1].replace("],[", "]\n[").split("\n")
    return texts if len(texts) == len(rows) else None


_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS  # fastjson.dumps' options


# A poll writes 100,000s of window rows over a handful of metric sets: each set's order and text worked out once.
@lru_cache(maxsize=1024)
def _sorted(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(names))


@lru_cache(maxsize=1024)
def _set_text(names: tuple[str, ...]) -> str:
    return dumps(list(_sorted(names)))


def unpack(names: tuple[str, ...], packed: str) -> Mapping[str, MetricValue]:
    """A window's values back from its metric set's names and the packed array (read-only)."""
    return MappingProxyType(dict(zip(names, fastjson.loads(packed), strict=True)))


def set_names(value: str) -> tuple[str, ...]:
    """A metric set's names from its ``history_names`` value."""
    return tuple(json.loads(value))
