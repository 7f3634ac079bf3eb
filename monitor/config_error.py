"""The one validation error our validators raise: pydantic's custom error of type "config", carrying ``problems``.

A leaf (pydantic_core only), so that small modules such as :mod:`monitor.durations` can raise it without loading
the TOML message machinery; :func:`monitor.tomlmessages.messages` is what reads it.
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError

__all__ = ["config_error"]


def config_error(*problems: tuple[str, str]) -> PydanticCustomError:
    """A validation error reported as is: ``(key relative to the failing place, message)`` pairs, which
    :func:`monitor.tomlmessages.messages` (and so :class:`monitor.tomlvalidate.Loader`) turns into
    ``file:line: key: message`` lines."""
    summary = "; ".join(f"{key}: {message}" if key else message for key, message in problems)
    return PydanticCustomError("config", "{summary}", {"summary": summary, "problems": list(problems)})
