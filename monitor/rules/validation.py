"""A value one of a fixed set, or a "did you mean" error: the check the rule file and rule test file models share.

The error is :func:`monitor.config_error.config_error`'s (type "config"), which
:class:`monitor.tomlvalidate.Loader` turns into a ``file:line: key: message`` line as it is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from monitor.config_error import config_error
from monitor.tomlmessages import show_value


def one_of(value: object, choices: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``choices``, else a "did you mean" error."""
    choices = list(choices)
    if isinstance(value, str) and value in choices:
        return value
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise config_error(("", f"{what} must be one of {', '.join(choices)}; got {show_value(value)}{hint}"))
