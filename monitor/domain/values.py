"""Metric values, and the read-only data and aware times every value object is built from.

A metric the API did not report is ``None`` (or absent), never 0: "no data" and zero stay distinct everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

#: One metric's value: a number, an attribute string, or None for "no data".
MetricValue = float | int | str | None
#: Metrics of one entity: window (``"today"``, ``"yesterday"``, ``"last_7d"``, ...) -> metric name -> value.
Metrics = Mapping[str, Mapping[str, MetricValue]]

EMPTY: Mapping[str, Any] = MappingProxyType({})


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
    """Read-only metrics. Already frozen ones (proxies all the way down, as the store builds them) are kept as is."""
    if not metrics:
        return EMPTY
    if type(metrics) is MappingProxyType and all(type(m) is MappingProxyType for m in metrics.values()):
        return metrics
    return MappingProxyType({str(w): MappingProxyType(dict(m)) for w, m in metrics.items()})
