"""Metric values, and the read-only data and aware times every value object is built from.

A metric the API did not report is ``None`` (or absent), never 0: "no data" and zero stay distinct everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NoReturn

#: One metric's value: a number, an attribute string, or None for "no data".
MetricValue = float | int | str | None
#: Metrics of one entity: window (``"today"``, ``"yesterday"``, ``"last_7d"``, ...) -> metric name -> value.
Metrics = Mapping[str, Mapping[str, MetricValue]]

EMPTY: Mapping[str, Any] = MappingProxyType({})


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses every change once made, as a ``MappingProxyType`` of a dict does: what a poll's fetch
    builds each entity's metrics of (its dict of windows, and each window's values; monitor.fetch_states).

    Issue 18: a proxy and its dict are two objects (the proxy 48 bytes, tracked by the collector) for each window
    and for each entity's windows, 100,000s a poll; this is one. It reads as a dict, in C (``get``, ``[]``,
    ``operator.itemgetter``), and orjson encodes it as one without calling back into Python (a proxy it cannot
    encode: the store's encoder copied each into a dict first). Only its maker fills it, through
    ``dict.__setitem__`` before anyone else holds it; every change through its own methods and operators raises
    TypeError. ``dict``'s methods called on it (``dict.__setitem__(x, ...)``) and ``x.__init__(...)`` get round
    that, as nothing stops code that means to (not overridden: ``__init__`` would cost a call per window). Copies
    (``copy()``, ``|``, ``dict(...)``) are plain dicts; ``copy.copy`` and ``copy.deepcopy`` give it back as it
    is (it holds only values nothing can change)."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"'{type(self).__name__}' object does not support item assignment or deletion")

    __setitem__ = __delitem__ = setdefault = pop = popitem = clear = update = __ior__ = _refuse

    def __reduce__(self) -> tuple[type[ReadOnlyDict], tuple[dict[str, Any]]]:
        return (ReadOnlyDict, (dict(self),))

    def __copy__(self) -> ReadOnlyDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyDict:
        return self


#: The read-only mapping types a window or a dict of windows may be (kept as they are by :func:`freeze_metrics`).
READ_ONLY = (MappingProxyType, ReadOnlyDict)


def shared(text: str | None) -> str | None:
    """One string object for equal statuses and parent ids (``sys.intern``): 100,000 ads hold a handful of
    statuses and a few thousand parents, not 100,000 copies of each (megabytes per snapshot)."""
    return None if text is None else sys.intern(text)


def aware(moment: datetime, what: str = "time") -> datetime:
    """Refuse naive datetimes at the door: the daemon works in aware UTC only."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} is naive: the store takes aware datetimes (UTC)")
    return moment


def freeze(value: Any) -> Any:
    """A read-only deep copy of JSON-like data: dicts become mapping proxies, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def freeze_metrics(metrics: Metrics | None) -> Metrics:
    """Read-only metrics. Already frozen ones (read-only all the way down: proxies, as the store builds them, or
    :class:`ReadOnlyDict`, as the fetch does) are kept as is."""
    if not metrics:
        return EMPTY
    if type(metrics) in READ_ONLY and all(type(m) in READ_ONLY for m in metrics.values()):
        return metrics
    return MappingProxyType({str(w): MappingProxyType(dict(m)) for w, m in metrics.items()})
