"""How a problem in a TOML input is said: pydantic's validation errors as one plain line each, keys dotted.

:func:`messages` turns one pydantic error into (location, message) pairs: errors of type "config" (raised by our
validators with ``problems``: :func:`monitor.config_error.config_error`, keys relative to the failing place) as
they are, a missing key as "required" (with its ``_file`` form for a secret), an unknown key with "did you mean"
(a model's ``SYNONYMS`` first), the rest as "expected ..., got VALUE" (:func:`show_value`; a secret's value is
never quoted). :func:`dotted` writes a location as the key people see: ``tiktok.accounts[0].name``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from monitor.tomlfields import is_secret, model_at, secret_fields, suggested_keys
from monitor.tomlpos import KeyPath


def messages(root: type[BaseModel], error: Any) -> Iterator[tuple[KeyPath, str]]:
    """One pydantic error from validating ``root`` as (location, one-line message) pairs."""
    loc: KeyPath = tuple(error["loc"])
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind == "config":
        for key, message in ctx["problems"]:
            yield (*loc, *_split_key(key)), message
        return
    if kind == "missing":
        name = str(loc[-1])
        model = model_at(root, loc[:-1])
        also = f" or {name}_file" if model is not None and name in secret_fields(model) else ""
        yield loc, f"required: set {name}{also}"
        return
    if kind == "extra_forbidden":
        yield loc, _unknown_key(root, loc)
        return
    expected = _EXPECTED.get(kind)
    if kind in _BOUNDS:
        phrase, bound = _BOUNDS[kind]
        expected = f"{phrase} {ctx.get(bound)}"
    if expected is None:
        expected = error["msg"].splitlines()[0]
    if is_secret(root, loc):
        yield loc, expected
    else:
        yield loc, f"{expected}, got {show_value(error.get('input'))}"


_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected an array",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dict_type": "expected a table",
    "path_type": "expected a path",
}
_BOUNDS = {
    "greater_than_equal": ("must be at least", "ge"),
    "greater_than": ("must be more than", "gt"),
    "less_than_equal": ("must be at most", "le"),
    "less_than": ("must be less than", "lt"),
}


def _unknown_key(root: type[BaseModel], loc: KeyPath) -> str:
    model = model_at(root, loc[:-1])
    if model is None:
        return "unknown key"
    close = _closest(root, loc)
    if close:
        return f"unknown key; did you mean {close!r}?"
    return "unknown key; expected one of: " + ", ".join(suggested_keys(model))


def _closest(root: type[BaseModel], loc: KeyPath) -> str | None:
    """The valid key most like the unknown key at ``loc``, if any is close: the model's ``SYNONYMS`` (a class
    attribute mapping what people write to our key) first, then the closest spelling."""
    model = model_at(root, loc[:-1])
    if model is None:
        return None
    synonym = getattr(model, "SYNONYMS", {}).get(str(loc[-1]).lower())  # e.g. condition -> when
    if synonym in suggested_keys(model):
        return str(synonym)
    close = difflib.get_close_matches(str(loc[-1]), suggested_keys(model), n=1)
    return close[0] if close else None


def meant(root: type[BaseModel], loc: KeyPath) -> KeyPath | None:
    """The field an unknown key was probably meant to be (``x_file`` means ``x``)."""
    close = _closest(root, loc)
    if close is None:
        return None
    model = model_at(root, loc[:-1])
    if model is not None and close.endswith("_file") and close[: -len("_file")] in secret_fields(model):
        close = close[: -len("_file")]
    return (*loc[:-1], close)


def _split_key(key: str) -> KeyPath:
    return tuple(int(part) if part.isdigit() else part for part in key.split(".")) if key else ()


def dotted(loc: KeyPath) -> str:
    """A location as a key people write: ``tiktok.accounts[0].name``, ``rule[2]."odd key"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out


def show_value(value: object) -> str:
    """A value as it would be written in TOML, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
