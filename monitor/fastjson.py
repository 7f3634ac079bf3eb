"""JSON on the hot path: API answers, report pages and stored metrics, decoded and encoded by orjson.

orjson (a kept, widely used library) decodes a 1,000-row page several times faster than the standard library and
encodes without building intermediate strings. Where orjson refuses what the standard library accepts (``NaN``,
``Infinity``, a lone surrogate escape such as ``"\\ud800"``), :func:`loads` falls back to :mod:`json`, so every
answer the monitor read before still reads the same. One difference remains: an integer beyond 64 bits becomes a
float (the standard library keeps it exact). TikTok's ids are 19 digits, within 64 bits; an id that is not would
read as a decimal number, which the answer's validation refuses as an id (monitor.tiktok.shape), so it is never
silently rounded; a stored metric past 64 bits (a count no account reaches) reads back as a float.

:func:`dumps` is the compact canonical form the store writes (sorted keys, no spaces); it refuses NaN and the
infinities like the store always did (orjson itself would write them as ``null``, which would turn a bad value into
"no data"); what orjson cannot write (an integer past 64 bits) the standard library writes, exactly. Text
written before orjson (the standard library escapes non-ASCII characters and writes ``1e-05``) reads the same.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def loads(data: bytes | str) -> Any:
    """Parse JSON text (bytes or str); raises ValueError (``json.JSONDecodeError``) for what is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return json.loads(data)  # what orjson refuses but the standard library reads (NaN, lone surrogates) or not JSON


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, finite: bool = False) -> str:
    """Compact JSON with sorted keys; mappings of any kind (read-only proxies too) are objects. Raises
    ValueError for NaN or an infinity anywhere in ``value`` (``finite=True``: the caller has checked that every
    float in it is finite, so the scan for them is skipped), TypeError for what JSON cannot hold."""
    try:
        text = orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # what orjson cannot write (an integer past 64 bits): the standard library writes it exactly, or raises
        # TypeError/ValueError for what JSON cannot hold
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_default)
    if not finite and b"null" in text and _has_nonfinite(value):  # orjson writes NaN/inf as null: refuse them instead
        raise ValueError("Out of range float values are not JSON compliant (NaN or an infinity)")
    return text.decode()


def _has_nonfinite(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is list or kind is tuple:
        return any(map(_has_nonfinite, value))
    if kind is dict or isinstance(value, Mapping):
        return any(map(_has_nonfinite, value.values()))
    return False
