"""The errors the rule file and rule test file models raise: pydantic custom errors of type "config".

Each carries ``problems``, (key relative to the failing place, message) pairs, which
:class:`monitor.tomlvalidate.Loader` turns into ``file:line: key: message`` lines as they are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic_core import PydanticCustomError

from monitor.tomlmessages import show_value


def fail(*problems: tuple[str, str]) -> PydanticCustomError:
    """A validation error reported as is: ``(key relative to the failing place, message)`` pairs."""
    summary = "; ".join(f"{key}: {message}" if key else message for key, message in problems)
    return PydanticCustomError("config", "{summary}", {"summary": summary, "problems": list(problems)})


def one_of(value: object, choices: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``choices``, else a "did you mean" error."""
    choices = list(choices)
    if isinstance(value, str) and value in choices:
        return value
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise fail(("", f"{what} must be one of {', '.join(choices)}; got {show_value(value)}{hint}"))
