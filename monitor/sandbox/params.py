"""Request parameters, validated the way the Business API does: a failure is code 40002 naming the parameter.

GET requests carry arrays and objects as JSON strings in the query string (``fields=["campaign_id"]``);
POST requests carry a JSON object body. :class:`Params` hides that difference from the handlers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

PARAM_ERROR = 40002


class ApiFailure(Exception):
    """Answer with HTTP 200 and this envelope ``code``/``message`` (and ``data`` {})."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def param_error(message: str) -> ApiFailure:
    return ApiFailure(PARAM_ERROR, message)


class Params:
    """Typed access to one request's parameters. ``from_query`` says whether values are query-string text."""

    def __init__(self, values: Mapping[str, Any], *, from_query: bool) -> None:
        self._values = values
        self._query = from_query

    def has(self, name: str) -> bool:
        return self._values.get(name) not in (None, "")

    def replaced(self, name: str, value: Any) -> Params:
        """The same parameters with ``name`` set to ``value`` (or left out when None)."""
        values = {k: v for k, v in self._values.items() if k != name}
        if value is not None:
            values[name] = value
        return Params(values, from_query=self._query)

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def string(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value in (None, ""):
            if required:
                raise param_error(f"{name}: Missing data for required field.")
            return default
        if not isinstance(value, str):
            raise param_error(f"{name}: Not a valid string.")
        return value

    def choice(
        self, name: str, options: Sequence[str], *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.string(name, required=required, default=default)
        if value is not None and value not in options:
            raise param_error(f"{name}: Must be one of: {', '.join(options)}.")
        return value

    def id(self, name: str, *, required: bool = True) -> str | None:
        """An id: a string of digits (a JSON number is accepted in bodies too)."""
        value = self._values.get(name)
        if value in (None, ""):
            if required:
                raise param_error(f"{name}: Missing data for required field.")
            return None
        if isinstance(value, int) and not isinstance(value, bool) and not self._query:
            value = str(value)
        if not isinstance(value, str) or not value.isdigit():
            raise param_error(f"{name}: Not a valid ID: {value!r}.")
        return value

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self._values.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value) if isinstance(value, str) else value
        except ValueError:
            raise param_error(f"{name}: Not a valid integer.") from None
        if not isinstance(number, int) or isinstance(number, bool):
            raise param_error(f"{name}: Not a valid integer.")
        if not low <= number <= high:
            raise param_error(f"{name}: Must be greater than or equal to {low} and less than or equal to {high}.")
        return number

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._values.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise param_error(f"{name}: Not a valid boolean.")

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise param_error(f"{name}: Missing data for required field.")
            return None
        return to_number(name, value)

    def structured(self, name: str, kind: type, *, required: bool = False) -> Any:
        """A JSON array (``kind`` list) or object (``kind`` dict): a JSON string in a query, native in a body."""
        value = self._values.get(name)
        if value in (None, ""):
            if required:
                raise param_error(f"{name}: Missing data for required field.")
            return None
        if self._query:
            if not isinstance(value, str):
                raise param_error(f"{name}: Not a valid JSON string.")
            try:
                value = json.loads(value)
            except ValueError:
                raise param_error(f"{name}: Invalid JSON string: {value[:80]!r}.") from None
        expected = "list" if kind is list else "object"
        if not isinstance(value, kind):
            raise param_error(f"{name}: Not a valid {expected}.")
        return value

    def string_list(self, name: str, *, required: bool = False, max_len: int | None = None) -> list[str] | None:
        value = self.structured(name, list, required=required)
        if value is None:
            return None
        return checked_strings(name, value, max_len=max_len)


def checked_strings(name: str, value: object, *, max_len: int | None = None, ids: bool = False) -> list[str]:
    """``value`` as a list of strings (ids: digit strings; JSON numbers accepted), or a 40002 failure."""
    if not isinstance(value, list):
        raise param_error(f"{name}: Not a valid list.")
    out: list[str] = []
    for item in value:
        if ids and isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item or (ids and not item.isdigit()):
            raise param_error(f"{name}: Not a valid {'ID' if ids else 'string'}: {item!r}.")
        out.append(item)
    if max_len is not None and len(out) > max_len:
        raise param_error(f"{name}: Length must be between 1 and {max_len}; got {len(out)}.")
    return out


def to_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise param_error(f"{name}: Not a valid number.")
    return float(value)


def page_info(total: int, page: int, page_size: int) -> dict[str, int]:
    return {
        "page": page,
        "page_size": page_size,
        "total_number": total,
        "total_page": math.ceil(total / page_size) if total else 0,
    }
