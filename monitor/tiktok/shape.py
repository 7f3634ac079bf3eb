"""Checking the API's answers at the client's edge: one small reader, one error type.

TikTok answers ``{code, message, request_id, data}``, and with code 0 the client would like to trust ``data``
to have the documented shape (tiktok-api.md). It may not: an API change, a proxy or a bug can send
``"data": [1, 2, 3]``, a ``data`` without ``list``, ``"advertiser_id": true`` or a metrics row that is a string.
Read through :class:`Fields`, each of these is a :class:`~monitor.tiktok.errors.BadResponseError` naming the
endpoint and the field::

    campaign/get/: data.list[3].advertiser_id is a bool, expected a string or number (advertiser 7...)

never an empty list, a made-up value or a traceback.

What each reader accepts:

* an **id** is a non-empty string or a whole JSON number, and is returned as a string (some exceed 2**53, which
  Python's json parses exactly); a bool or a decimal number is never an id;
* a **text** is a string (a number is taken as its text); null is None;
* a **number** is a JSON number or a numeric string; ``"-"``, ``""`` and null are None (no value, never 0);
* a **count** is a whole number >= 0 (or its digits as a string);
* a **metric** is a string, a number or null, parsed by :func:`parse_metric`;
* a **list of rows** is a list of objects; ``null`` is read as an empty list (as Go servers write an empty
  slice) and the page count check of the client guards against that hiding rows.

The parsing of the API's string-typed numbers (:func:`parse_metric`, :func:`parse_number`) lives here too;
:mod:`monitor.tiktok.models` re-exports it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.domain import MetricValue
from monitor.tiktok.errors import BadResponseError
from monitor.tiktok.transport import ApiResponse

_MISSING: Any = object()
_NO_VALUE = frozenset({"", "-", "--"})

#: Report "metrics" that are attributes of the entity, not numbers (tiktok-api.md §7.1).
ATTRIBUTE_METRICS = frozenset(
    {
        "campaign_name",
        "campaign_id",
        "adgroup_name",
        "adgroup_id",
        "ad_name",
        "ad_text",
        "opt_status",
        "bid_strategy",
        "billing_event",
        "placement_type",
        "objective_type",
        "campaign_automation_type",
        "currency",
        "timezone",
        "advertiser_id",
        "advertiser_name",
        "promotion_type",
        "tt_app_name",
    }
)

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+\Z")  # "14.68": ASCII digits only (float() takes others too)


def parse_metric(name: str, raw: object) -> MetricValue:
    """Turn one report value into a number, keeping "no data" distinct from zero.

    ``"-"``, ``""``, ``None`` and anything unparseable become ``None``. Attribute metrics stay strings.
    Integers stay ints ("1079" -> 1079); decimals become floats ("14.68"); a trailing "%" is dropped
    (values stay in percent, as TikTok sends ctr "1.25" meaning 1.25 %); thousands separators are removed.
    """
    if raw is None:
        return None
    if name in ATTRIBUTE_METRICS:
        return str(raw)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return raw if math.isfinite(raw) else None
    text = str(raw).strip().removesuffix("%").replace(",", "")
    if text in ("", "-", "--", "N/A", "null"):
        return None
    if _INTEGER.match(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_metric_text(name: str, raw: str) -> MetricValue:
    """:func:`parse_metric` of a string (a CSV cell), with the common cases (a plain integer or decimal) first and
    without raising for them: the same result for every input, several times faster on a 100,000-row report."""
    if name not in ATTRIBUTE_METRICS:
        if raw.isascii() and raw.isdigit():
            return int(raw)
        if _DECIMAL.match(raw):
            value = float(raw)
            return value if math.isfinite(value) else None
    return parse_metric(name, raw)  # attributes, "-", "12%", "1,234", " 12 ", signs, exponents, ...


def parse_number(raw: object) -> float | None:
    """An entity field such as ``budget`` as a float, or None when absent or not a number."""
    value = parse_metric("budget", raw)
    return float(value) if isinstance(value, int | float) else None


def kind(value: object) -> str:
    """What a JSON value is, in words: "null", "a bool", "a number", "a string", "a list", "an object"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True)
class Where:
    """The answer being read: its endpoint, the advertiser it was for, its request id and which page."""

    endpoint: str
    advertiser_id: str | None = None
    request_id: str | None = None
    page: int | None = None

    def error(self, field: str, problem: str) -> BadResponseError:
        """``<field> <problem>``, with the page when it is not the first, as the error of this answer."""
        on_page = f" (page {self.page})" if self.page is not None and self.page > 1 else ""
        return BadResponseError(
            f"{field} {problem}{on_page}",
            field=field,
            endpoint=self.endpoint,
            request_id=self.request_id,
            advertiser_id=self.advertiser_id,
        )


def answer_data(
    response: ApiResponse, endpoint: str, advertiser_id: str | None = None, *, page: int | None = None
) -> Fields:
    """The ``data`` object of ``response``, to read with checks; raises when ``data`` is not an object."""
    where = Where(endpoint, advertiser_id, response.request_id, page)
    if response.payload is None:
        raise where.error("data", "is missing")
    return Fields.of(response.payload, "data", where)


class Fields:
    """A JSON object found at ``path`` of one answer; its values are read with their types checked."""

    def __init__(self, values: Mapping[str, Any], path: str, where: Where) -> None:
        self.raw = values
        self.path = path
        self.where = where

    @classmethod
    def of(cls, value: object, path: str, where: Where) -> Fields:
        if not isinstance(value, dict):
            raise where.error(path, f"is {kind(value)}, expected an object")
        return cls(value, path, where)

    def error(self, key: str, problem: str) -> BadResponseError:
        return self.where.error(self._at(key), problem)

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def _wrong(self, key: str, value: object, expected: str) -> BadResponseError:
        return self.error(key, f"is {kind(value)}, expected {expected}")

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def object(self, key: str) -> Fields:
        """The object at ``key``: required."""
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            raise self.error(key, "is missing")
        return Fields.of(value, self._at(key), self.where)

    def opt_object(self, key: str) -> Fields | None:
        """The object at ``key``, or None when it is absent or null."""
        value = self.raw.get(key)
        return None if value is None else Fields.of(value, self._at(key), self.where)

    def rows(self, key: str = "list") -> list[Fields]:
        """The list of objects at ``key`` (required; null is an empty list)."""
        return [Fields.of(row, f"{self._at(key)}[{i}]", self.where) for i, row in enumerate(self.items(key))]

    def items(self, key: str = "list") -> list[Any]:
        """The list at ``key`` as decoded, its items not checked (required; null is an empty list)."""
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            raise self.error(key, "is missing")
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, value, "a list")
        return value

    def id(self, key: str) -> str:
        """A required id, as a string."""
        value = self.opt_id(key)
        if value is None:
            raise self.error(key, "is missing")
        return value

    def opt_id(self, key: str) -> str | None:
        """An id as a string, or None when absent or null."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                raise self.error(key, "is an empty string, expected an id")
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            raise self.error(key, "is a decimal number, expected a string or whole number")
        raise self._wrong(key, value, "a string or number")

    def text(self, key: str) -> str | None:
        """A string (a number as its text), or None when absent or null."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self._wrong(key, value, "a string")

    def number(self, key: str) -> float | None:
        """A number (JSON number or numeric string), or None for absent, null, "" and "-"."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip() in _NO_VALUE:
            return None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            parsed = parse_metric(key, value)
            if isinstance(parsed, int | float):
                return float(parsed)
            raise self.error(key, f"is {_short(value)}, expected a number")
        raise self._wrong(key, value, "a number")

    def count(self, key: str) -> int | None:
        """A whole number >= 0, or None when absent or null."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, float) and value.is_integer() and value >= 0 and math.isfinite(value):
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        shown = _short(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else kind(value)
        raise self.error(key, f"is {shown}, expected a whole number >= 0")

    def strings(self, key: str) -> dict[str, str]:
        """The required object at ``key`` whose values are strings or whole numbers (report dimensions)."""
        values = self.object(key)
        out: dict[str, str] = {}
        for name, value in values.raw.items():
            if isinstance(value, str):
                out[name] = value
            elif isinstance(value, int) and not isinstance(value, bool):
                out[name] = str(value)
            else:
                raise values._wrong(name, value, "a string or whole number")
        return out

    def metrics(self, key: str) -> dict[str, MetricValue]:
        """The required object at ``key`` of report metrics: each a string, a number or null ("-" is None)."""
        values = self.object(key)
        out: dict[str, MetricValue] = {}
        for name, value in values.raw.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
                raise values._wrong(name, value, "a string or number")
            out[name] = parse_metric(name, value)
        return out


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
