"""Which rows one poll writes: the entities that appeared, changed or disappeared, and their history rows. Pure
but for one cache: what it learns of the previous snapshot's metrics is handed to them.

An entity costs no row when nothing about it changed. Its *fingerprint* decides that with one comparison: the
canonical stored text of its metrics (:func:`stored_text`, the very text the store writes) next to the previous
state's stored text (:class:`~monitor.domain.stored.StoredMetrics` keeps it as read), plus a tuple comparison of its
fields. Equal text is equal values of equal types (``0`` and ``0.0`` differ, so what was saved reads back), so an
unchanged entity costs one encoding in C and two comparisons, and its previous metrics become the new ones
(:meth:`~monitor.domain.stored.StoredMetrics.adopt`). A changed entity's previous text is parsed once into plain
dicts, for its history rows and, wrapped read-only, for the rules' reads of the previous poll: when the pipeline
compares before it evaluates (:meth:`~monitor.store.poll_writer.PollWriter.compare`), nothing is decoded twice. At
a level whose previous metrics no rule reads (``parsed_levels``) the dicts are let go and the text kept instead:
half the memory, decoded again only if something reads it. Of those
dicts, a window that did not change is replaced by the new poll's own (equal values of equal types), so the
previous poll keeps its own copy only of the windows that moved (see :func:`_shareable`). A window whose text is
the same in both texts is known unchanged without comparing its values (:func:`_one_text_a_window`: about 70 %
of a changed entity's windows, most often all but ``today``). A previous state whose metrics are not stored
text (a snapshot built in memory) is compared as values, types included: the general comparison the fingerprint
stands for. The row of an entity that was in the previous snapshot with the same fields and whose metrics alone
moved is a :class:`~monitor.store.snapshots.MetricsMoved` (the same values: the commit updates its metrics only,
monitor.store.poll_write).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Mapping
from itertools import chain
from operator import attrgetter, eq, itemgetter, methodcaller
from types import MappingProxyType
from typing import Any, cast

import orjson

from monitor import fastjson
from monitor.domain import LEVEL_ORDER, EntityKey, EntityState, Level, Metrics
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY
from monitor.store.history_codec import HistoryChanges, StateEvent, WindowEvent, check_values, entity_events
from monitor.store.lean import LeanPrevious, LeanRow
from monitor.store.snapshots import STATE_COLUMNS, EntityValues, MetricsMoved, row_values

__all__ = ["poll_changes", "stored_text"]

#: The fields of a state an ``entities`` row stores, besides its key and metrics. Not ``smart_plus``: it is read
#: from the API each poll and never stored, so a state read back always says False and comparing it would write
#: every Smart+ entity's row again at every poll.
_fields = attrgetter(*STATE_COLUMNS)
#: fastjson.dumps' options: the stored text's canonical form.
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_is_float: Callable[[object], bool] = float.__instancecheck__
_values = methodcaller("values")
_metrics = attrgetter("metrics")
#: The rows' order: by level (:data:`~monitor.domain.LEVEL_ORDER`), then by id.
_LEVEL_VALUES = [level.value for level in sorted(Level, key=LEVEL_ORDER.__getitem__)]
_entity_id = itemgetter(2)  # an EntityValues' entity_id


def poll_changes(
    previous: Mapping[EntityKey, EntityState] | LeanPrevious,
    saved: Mapping[EntityKey, EntityState],
    saved_levels: Iterable[Level],
    *,
    finite: bool = False,
    parsed_levels: Container[Level] | None = None,
) -> tuple[list[EntityValues], HistoryChanges]:
    """Rows for ``entities`` and the history's rows: each of ``saved`` that is new or changed against
    ``previous``, and each of ``previous`` of ``saved_levels`` that is no longer saved (it disappeared).
    ``finite``: the caller vouches that every float of ``saved``'s metrics is finite (a poll's fetch knows it:
    monitor.fetch's ``FetchResult.finite``); else that is checked here, one pass over every distinct window
    (0.1-0.2 s and a dict of 400,000 entries for a 100,000-ad poll). ``previous`` read lean
    (:class:`~monitor.store.lean.LeanPrevious`): each row compared is settled there (its
    :meth:`~monitor.store.lean.LeanPrevious.snapshot` is then the previous snapshot).
    ``parsed_levels``: the levels whose previous metrics are read this poll (a rule's ``prev.x``, ``changed(x)``
    or ``delta(x)`` of a metric or a derived value; adaptive polling reads every level's), None for every level.
    A changed entity's previous text is parsed to compare its windows; at those levels the parsed values are
    handed to its metrics (nothing decodes it twice), at the others they are let go and the text is kept,
    decoded again only if something reads it: the text is about 250 bytes, the parsed values about 570 (38 MB
    at the comparison's peak of a 100,000-ad poll whose ads mostly changed, when no ad rule reads them)."""
    levels = set(saved_levels)
    checked = finite or _finite(_distinct(chain.from_iterable(map(_values, map(_metrics, saved.values())))))
    out = []
    states: list[StateEvent] = []
    windows: list[WindowEvent] = []
    find, appeared = previous.get, 0  # appeared: entities of saved not in previous
    lean = cast(LeanPrevious, previous)  # used only where previous gave a LeanRow: then it is one
    # settled (monitor.store.lean.LeanPrevious.settle): only the entries it left, not 100,000 keys looked up again
    pending = previous.pending if type(previous) is LeanPrevious else None
    entries = pending[1] if pending is not None and pending[0] is saved else saved.items()
    for key, state in entries:
        old, text = find(key), None
        if old is state:  # settled unchanged before (monitor.store.lean.LeanPrevious.settle)
            continue
        if isinstance(old, LeanRow):  # read lean (monitor.store.lean): a previous state made only if it changed
            text = lean.new_texts.pop(key, None) or stored_text(state, checked)  # (worked out when it was settled)
            if text is not None and text == old.text and lean.keep(key, old, state):
                continue  # unchanged: costs no row, and the new state stands for the previous one
            old = lean.state(key, old)  # compared below as any state read back (its text encoded once)
        stored = None if old is None else old.metrics
        # the common case first: _unchanged_or_text's way for stored text, inline (100,000 entities a poll)
        exact = False  # text is stored_text's: orjson's form, each value exact
        if type(stored) is StoredMetrics and (text := text or stored_text(state, checked)) is not None:
            exact = True
            same_fields = _fields(old) == _fields(state)
            if text == stored.text:
                stored.adopt(state.metrics)  # equal values of equal types: the rules need not decode the old text
                if same_fields:
                    continue  # unchanged: costs no row
        elif (text := _unchanged_or_text(old, state, checked)) is None:
            continue
        else:
            same_fields = old is not None and _fields(old) == _fields(state)
        appeared += old is None  # (an entity not in previous is never unchanged: each is counted here)
        # the same fields (and metrics that differ, or it would be unchanged): its metrics alone moved
        out.append(row_values(state, text, True, MetricsMoved if same_fields else EntityValues))
        parsed = share = None
        same: Iterable[bool] = ()
        if type(stored) is StoredMetrics:  # its text parsed (None: the values at hand already)
            hand_over = parsed_levels is None or key[0] in parsed_levels
            parsed, was = stored.parse_text(hand_over)  # (the text let go once the values are at hand)
            if parsed is not None and was is not None and _shareable(was, parsed, state, text):
                share = parsed if hand_over else None
                if exact and _one_text_a_window(was, parsed, state, text):  # windows of equal text: the same
                    same = map(eq, was.split("}"), text.split("}"))
        event, changed = entity_events(old, state, parsed, share, key, same)
        if event is not None:
            states.append(event)
        windows += changed
    if len(saved) - appeared < len(previous):  # else every previous entity is still saved: none disappeared
        for key, old in previous.items():  # (a Python loop over 100,000 keys, each looked up in saved)
            if key[0] in levels and key not in saved:
                old = lean.state(key, old) if isinstance(old, LeanRow) else old
                out.append(row_values(old, _text_of(old.metrics), present=False))
                event, changed = entity_events(old, None)
                states += [event] if event is not None else []
                windows += changed
    out.sort(key=_entity_id)  # then by level (a stable filter per level: no key tuple made per row)
    out = [row for level in _LEVEL_VALUES for row in out if row[1] == level]  # row[1]: its level
    return out, HistoryChanges(tuple(states), tuple(windows))


def stored_text(state: EntityState, checked: bool = False) -> str | None:
    """The text the store writes for ``state``'s metrics (``fastjson.dumps``' canonical form), encoded in one
    call; None when its values need :func:`check_values`' verdict (a NaN or an infinity, a value JSON cannot
    hold, an integer past 64 bits): the caller then takes the general way, which refuses or encodes them.
    ``checked``: every float of the metrics is known to be finite."""
    try:
        text = orjson.dumps(state.metrics, default=_plain, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return None
    if not checked and b"null" in text and not _finite(state.metrics.values()):  # orjson writes NaN, inf as null
        return None
    return text.decode()


def _plain(value: Any) -> Any:
    """What orjson cannot encode by itself (fastjson's ``_default``, the common case first): read-only proxies, as
    states the store or a test builds hold (a poll's fetch makes ``ReadOnlyDict``s, which orjson encodes as they
    are, without calling this)."""
    if type(value) is MappingProxyType:
        return value.copy()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(windows: Iterable[Mapping[str, Any]]) -> bool:
    """Is every float of these windows finite? Summed in C; a sum of finite floats that overflows says no (the
    general check then decides, entity by entity)."""
    return math.isfinite(sum(filter(_is_float, chain.from_iterable(map(_values, windows)))))


def _distinct(windows: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """Each window object once: most are shared by many entities (the fetch shares equal windows), and looking
    at each once costs less than reading its values again (worked out in C)."""
    every = list(windows)
    return dict(zip(map(id, every), every, strict=True)).values()


def _unchanged_or_text(old: EntityState | None, new: EntityState, checked: bool) -> str | None:
    """None when ``new`` is ``old`` unchanged; else the stored text of ``new``'s metrics (checked first;
    ``checked``: every float is known to be finite)."""
    was = None if old is None else _stored_form(old.metrics)
    text = None if was is None and old is not None else stored_text(new, checked)  # stored text, then the fields
    exact = text is not None  # orjson's text: equal text is equal values of equal types (not so past 64 bits)
    if text is None:
        if was is None and old is not None and old == new and _same_metric_types(old.metrics, new.metrics):
            return None
        check_values(new)
        text = fastjson.dumps(new.metrics, finite=True)  # every float checked finite just above
    if was is not None and text == was:
        if exact:
            _adopt(old, new)  # equal values of equal types: the rules need not decode the old text
        if _fields(old) == _fields(new):
            return None
    return text


def _stored_form(metrics: Metrics) -> str | None:
    """The stored text of metrics read from the store, None for metrics built in memory."""
    if type(metrics) is StoredMetrics:
        return metrics.text
    return "{}" if metrics is EMPTY else None


def _shareable(was: str, parsed: dict[str, Any], new: EntityState, text: str) -> bool:
    """May the previous metrics parsed from ``was`` take the new poll's own window where it did not change? Then
    the parsed copy is let go, and a large account's previous poll holds only the windows that moved (about 1 kB
    an entity parsed, most of it windows that did not change). ``text`` is ``new``'s. Only when both texts hold plain
    values (numbers, strings, nulls: no ``[`` and no ``{`` but the windows'), which
    :func:`~monitor.store.history_codec.same_values` tells apart exactly (types and the signs of zeros); a list
    or an object within a window (the fetch never makes one) could be equal with other types inside. A string
    holding a bracket only keeps the parsed copy."""
    if "[" in text or text.count("{") != len(new.metrics) + 1:
        return False
    return "[" not in was and was.count("{") == len(parsed) + 1


def _one_text_a_window(was: str, parsed: dict[str, Any], new: EntityState, text: str) -> bool:
    """For texts :func:`_shareable` found plain: is each ``}`` of both the end of a window or of the whole (none
    within a string)? Then the texts split at ``}`` are each window's name and values in the sorted order of the
    windows (orjson sorts keys as ``sorted`` does, by code point), and where two such pieces are equal, the
    window's values are equal, of equal types and signs, when ``text`` is orjson's (:func:`stored_text`):
    ``was``' piece, parsed, is what orjson wrote of the new values. A piece unequal is compared as values (an
    older text in another form may hold the same values)."""
    return text.count("}") == len(new.metrics) + 1 and was.count("}") == len(parsed) + 1


def _adopt(old: EntityState | None, new: EntityState) -> None:
    """Let ``old``'s stored metrics be ``new``'s, which encode to the same text."""
    metrics = None if old is None else old.metrics
    if type(metrics) is StoredMetrics:
        metrics.adopt(new.metrics)


def _text_of(metrics: Metrics) -> str:
    """The stored text of a disappearing entity's metrics (its stored text as read, when it is that)."""
    stored = _stored_form(metrics)
    return fastjson.dumps(metrics) if stored is None else stored


def _same_metric_types(a: Metrics, b: Metrics) -> bool:
    """For equal metrics: are the types equal too? 0 -> 0.0 is stored as a change, so what was saved reads back."""
    for window, values in a.items():
        other = b[window]
        if list(map(type, values.values())) != list(map(type, map(other.__getitem__, values))):
            return False
    return True
