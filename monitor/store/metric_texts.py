"""The stored text of a poll's metrics, each distinct window encoded once (issue 18).

The fetch shares equal windows (:mod:`monitor.fetch_states`): a 100,000-ad snapshot holds some 400,000 windows
but only about 50,000 distinct window objects. :class:`MetricTexts` encodes each window object once (orjson, the
store's canonical form: sorted keys, no spaces) and makes an entity's text from its windows' texts, laid out as
orjson lays out the whole (its own order of the window names, each name as it writes it); the result is the very
text ``orjson.dumps`` writes for the whole metrics (the tests compare the two). It also tells which texts need
:func:`~monitor.store.history_codec.check_values`' verdict: orjson writes NaN and the infinities as ``null``, so a
window whose text holds ``null`` has its floats checked (once, like its encoding), which spares a pass over every
window of the snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from operator import itemgetter
from types import MappingProxyType
from typing import Any

import orjson

__all__ = ["MetricTexts", "plain"]

#: fastjson.dumps' options: the stored text's canonical form.
OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_is_float: Callable[[object], bool] = float.__instancecheck__
#: How metrics with some window names are laid out (see _layout).
_Layout = tuple[Callable[[Any], tuple[Any, ...]], str]
_UNKNOWN: _Layout = (tuple, "")  # (a layout not worked out yet)
#: A window's text when it has none: orjson refused it (an integer past 64 bits) or it holds a NaN or an infinity.
_REFUSED = ""


def plain(value: Any) -> Any:
    """What orjson cannot encode by itself: read-only windows (fastjson's ``_default``, the common case first)."""
    if type(value) is MappingProxyType:
        return value.copy()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class MetricTexts:
    """The stored texts of one poll's metrics. Windows are known by their identity: the metrics given must stay
    alive and unchanged while this object is used (a poll's states, read-only, for one comparison)."""

    __slots__ = ("_known", "_layouts", "_windows")

    def __init__(self) -> None:
        self._windows: dict[int, str] = {}  # id of a window -> its text, or _REFUSED
        self._known = self._windows.get
        # the window names of a metrics mapping, in its order -> a picker of its windows in orjson's order and the
        # text around them; None where orjson lays it out itself (a name that is not a string)
        self._layouts: dict[tuple[Any, ...], _Layout | None] = {}

    def text(self, metrics: Mapping[str, Mapping[str, Any]]) -> str | None:
        """The stored text of ``metrics`` (``fastjson.dumps``' form, made by orjson); None when it needs the
        general way's verdict: a NaN or an infinity (which orjson writes as ``null``), an integer past 64 bits."""
        names = tuple(metrics)
        layout = self._layouts.get(names, _UNKNOWN)
        if layout is _UNKNOWN:
            layout = self._layouts[names] = _layout(names)
        if layout is None:
            return self._whole(metrics)
        pick, form = layout
        windows = pick(metrics)
        texts = tuple(map(self._known, map(id, windows)))
        if not all(texts):  # a window not seen yet (None) or refused (_REFUSED)
            texts = tuple([text or self._window(window) for text, window in zip(texts, windows, strict=True)])
            if not all(texts):
                return None
        return form % texts

    def _window(self, window: Mapping[str, Any]) -> str:
        found = self._windows.get(id(window))
        if found is None:
            found = self._windows[id(window)] = _encode(window)
        return found

    def _whole(self, metrics: Mapping[str, Mapping[str, Any]]) -> str | None:
        if not all(map(self._window, metrics.values())):
            return None
        try:
            return orjson.dumps(metrics, default=plain, option=OPTIONS).decode()
        except orjson.JSONEncodeError:
            return None


def _encode(window: Mapping[str, Any]) -> str:
    """One window's text, or _REFUSED (an integer past 64 bits, a NaN, an infinity, what JSON cannot hold)."""
    try:
        text = orjson.dumps(window, default=plain, option=OPTIONS)
    except orjson.JSONEncodeError:
        return _REFUSED
    if b"null" in text and not all(map(math.isfinite, filter(_is_float, window.values()))):
        return _REFUSED
    return text.decode()


def _layout(names: tuple[Any, ...]) -> _Layout | None:
    """How to lay out metrics with these window names: a picker of the windows in the order orjson writes them,
    and the text around them (a ``%`` format, one ``%s`` per window); None for a name that is not a string
    (orjson's own layout is taken then)."""
    if not all(type(name) is str for name in names):
        return None
    order = tuple(orjson.loads(orjson.dumps(dict.fromkeys(names), option=OPTIONS)))  # orjson's order, not ours
    keys = (orjson.dumps(name).decode().replace("%", "%%") for name in order)
    form = "{" + ",".join(f"{key}:%s" for key in keys) + "}"
    return (itemgetter(*order) if len(order) > 1 else partial(_one, order)), form


def _one(names: tuple[str, ...], metrics: Mapping[str, Any]) -> tuple[Any, ...]:
    """The windows of ``names`` (one or none) as a tuple (``itemgetter`` of one name gives the window itself)."""
    return tuple(map(metrics.__getitem__, names))
