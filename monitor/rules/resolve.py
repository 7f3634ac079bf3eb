"""Names of the ``when`` language: what each one reads, and the checks of literal values compared with them.

:func:`resolve` turns ``("yesterday", "cpc")`` into a :class:`Ref`: "the metric cpc of the window yesterday",
one of a fixed vocabulary, chosen at load (:mod:`monitor.rules.reads` turns refs into reads). Problems are
raised as ``ValueError`` with a one-line message ("did you mean" included).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from monitor.domain import Level
from monitor.domain.hourly import NOT_HOURLY
from monitor.domain.windows import HOURLY_WINDOWS
from monitor.rules import names as N

_EMPTY: Any = MappingProxyType({})
_CURRENCY = re.compile(r"[A-Z]{3}")


class Context:
    """What a condition reads for one entity: the entity now (``cur``) and at the previous poll (``prev``, None
    when it was not there), the advertiser's local ``hour`` (0-23), ``weekday`` ("mon".."sun"), ``elapsed``
    (day_elapsed) and ``base`` (the share of a day's spend expected by now, None: too early; see
    :mod:`monitor.rules.pacing`), and its ``currency`` (None: unknown)."""

    __slots__ = ("base", "cur", "currency", "elapsed", "hour", "prev", "weekday")

    def __init__(
        self,
        cur: Any = None,
        prev: Any = None,
        hour: int = 0,
        weekday: str = "mon",
        elapsed: float = 0.0,
        base: float | None = None,
        currency: str | None = None,
    ) -> None:
        self.cur = cur
        self.prev = prev
        self.hour = hour
        self.weekday = weekday
        self.elapsed = elapsed
        self.base = base
        self.currency = currency


@dataclass(frozen=True)
class Ref:
    """One value a condition reads. ``text`` is how findings show it: "spend", "yesterday.cpc", "prev.budget"."""

    text: str
    type: str  # names.NUMBER | names.STRING
    kind: str  # "metric" | "field" | "derived" | "time" | "account"
    key: str  # the metric, field, derived, time or account name
    window: str | None  # metrics only
    prev: bool
    attr: str | None = None  # fields only: the EntityState attribute read ("id" for a level's own id)


def resolve(parts: Sequence[str], level: Level | None, window: str) -> Ref:
    """The value a dotted name stands for in a rule of ``level`` whose bare metrics read ``window``."""
    if parts[0] != "prev":
        return _resolve(parts, level, window, prev=False)
    rest = parts[1:]
    if not rest:
        raise ValueError("prev needs a name after it, like prev.spend")
    if rest[0] == "prev":
        raise ValueError("prev.prev is not available: only the previous poll is kept")
    if rest[0] in N.ONE_POLL:
        raise ValueError(f"{rest[0]} has no previous value: it says who changed the entity since the previous poll")
    if rest[0] in N.TIME or rest[0] in N.ACCOUNT or rest[0] in N.TIMED:
        raise ValueError(f"{rest[0]} has no previous value: prev.x reads the entity as the previous poll saw it")
    return _resolve(rest, level, window, prev=True)


def _resolve(parts: Sequence[str], level: Level | None, window: str, *, prev: bool) -> Ref:
    head, rest = parts[0], parts[1:]
    prefix = "prev." if prev else ""
    if head in N.WINDOWS:
        if not rest:
            raise ValueError(f"{head} is a window: write {head}.<metric>, like {head}.spend")
        if len(rest) > 1:
            raise ValueError(f"{'.'.join(parts)}: a window takes one metric name, like {head}.spend")
        metric = rest[0]
        if metric in N.METRICS:
            _hourly(metric, head)
            return Ref(f"{prefix}{head}.{metric}", N.NUMBER, "metric", metric, head, prev)
        if metric in N.FIELDS or metric in N.DERIVED or metric in N.TIME or metric in N.ACCOUNT:
            raise ValueError(f"{metric} is not a report metric, so it has no window: write {prefix}{metric}")
        raise ValueError(_unknown(f"unknown metric {metric!r}", metric, N.METRICS))
    if rest:
        if head in N.METRICS or head in N.FIELDS or head in N.DERIVED or head in N.TIME or head in N.ACCOUNT:
            raise ValueError(f"{head} has no parts: only windows ({', '.join(N.WINDOWS)}) and prev take a '.'")
        raise ValueError(_unknown(f"unknown window {head!r}", head, [*N.WINDOWS, "prev"]))
    if head in N.METRICS:
        _hourly(head, window)
        return Ref(f"{prefix}{head}", N.NUMBER, "metric", head, window, prev)
    if head in N.FIELDS:
        kind, levels = N.FIELDS[head]
        _available(head, levels, level)
        own = head == "ad_id" or (level is not None and head == f"{level.value}_id")
        attr = "id" if own else head
        return Ref(f"{prefix}{head}", kind, "field", head, None, prev, attr)
    if head in N.DERIVED:
        kind, levels = N.DERIVED[head]
        _available(head, levels, level)
        return Ref(f"{prefix}{head}", kind, "derived", head, None, prev)
    if head in N.TIME:
        return Ref(head, N.TIME[head], "time", head, None, False)
    if head in N.ACCOUNT:
        return Ref(head, N.ACCOUNT[head], "account", head, None, False)
    if head in N.FUNCTIONS:
        raise ValueError(f"{head} is a function: write {N.FUNCTIONS[head].split(':')[0]}")
    if head in N.ALIASES:
        raise ValueError(f"unknown name {head!r}; use {N.ALIASES[head]}")
    raise ValueError(_unknown(f"unknown name {head!r}", head, N.value_names(level)))


def _unknown(message: str, word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def _hourly(metric: str, window: str) -> None:
    if window in HOURLY_WINDOWS and metric in NOT_HOURLY:
        raise ValueError(
            f"{window}.{metric}: {metric} is not available in hourly windows (it does not add up over hours); "
            f"read it in a daily window, like today.{metric}"
        )


def _available(name: str, levels: frozenset[Level], level: Level | None) -> None:
    if level is not None and level not in levels:
        allowed = ", ".join(lv.value for lv in Level if lv in levels)
        raise ValueError(f"{name} is not available in {level.value} rules (only in {allowed} rules)")


# --- literal values ------------------------------------------------------------------------------------------


def check_value(ref: Ref, value: object, level: Level | None) -> str | None:
    """A message when ``value`` can never equal what ``ref`` holds (a typo, another level's status), else None."""
    key = ref.key
    if key == "day_elapsed":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            return f"day_elapsed is a fraction of the day from 0 to 1 (0.5 is noon); got {value!r}"
        return None
    if key == "currency" and isinstance(value, str) and not _CURRENCY.fullmatch(value):
        return f'currency is an ISO 4217 code in capitals, like "USD" or "JPY"; got {value!r}'
    if key == "hour":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or not 0 <= value <= 23:
            return f"hour is a whole number from 0 to 23; got {value!r}"
        return None
    if not isinstance(value, str):
        return None
    if key == "weekday":
        known: Iterable[str] = N.WEEKDAYS
        if value not in N.WEEKDAYS:
            return _unknown(f"weekday is one of {', '.join(N.WEEKDAYS)}; got {value!r}", value.lower()[:3], known)
        return None
    if key == "level":
        known = [lv.value for lv in Level]
        return None if value in known else _unknown(f"unknown level {value!r}", value, known)
    if key == "changed_by" and value not in N.CHANGED_BY:
        message = f"changed_by is one of {', '.join(repr(v) for v in N.CHANGED_BY)}; got {value!r}"
        return _unknown(message, value, N.CHANGED_BY)
    if key == "operation_status" and value not in N.OPERATION_STATUSES:
        message = f"operation_status is one of {', '.join(sorted(N.OPERATION_STATUSES))}; got {value!r}"
        return _unknown(message, value, N.OPERATION_STATUSES)
    if key == "budget_mode" and value not in N.BUDGET_MODES:
        return _unknown(f"unknown budget_mode {value!r}", value, N.BUDGET_MODES)
    if key == "secondary_status":
        return _check_status(value, level)
    return None


def _check_status(value: str, level: Level | None) -> str | None:
    """Known statuses pass; a near miss is a typo; a status of another level never matches; new ones pass."""
    known = N.SECONDARY_STATUSES.get(level) if level is not None else None
    candidates = known if known is not None else N.ALL_SECONDARY_STATUSES
    if value in candidates:
        return None
    close = difflib.get_close_matches(value, sorted(candidates), n=1, cutoff=0.85)
    if close:
        return f"unknown secondary_status {value!r}; did you mean {close[0]!r}?"
    if level is None:
        return None
    prefix = N.STATUS_PREFIX.get(level)
    if prefix and not value.startswith((prefix, "ADVERTISER_")):
        return f"a {level.value}'s secondary_status starts with {prefix}, so it is never {value!r}"
    return None
