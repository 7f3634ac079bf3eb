"""Durations as people write them in config and rule files: ``"90s"``, ``"5m"``, ``"4h"``, ``"30d"``, ``"1h30m"``.

Grammar: one or more ``<whole number><unit>`` parts, units ``d``, ``h``, ``m``, ``s``, largest first, each unit at
most once, no spaces inside. ``"0"`` (or the integer ``0``) means zero. A bare number is refused on purpose:
``interval = 5`` could mean seconds or minutes, so the message asks for a unit instead of guessing.

:func:`parse_duration` raises :class:`ValueError` with a one-line message that quotes the input; the pydantic
type :data:`Duration` turns that into a validation error, :func:`at_least` adds a lower bound and :func:`at_most` an
upper one (with the reason a longer duration cannot be meant).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator

from monitor.config_error import config_error

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
EXPECTED = 'expected a number with a unit s, m, h or d, like "90s", "5m", "4h"'

_SHAPE = re.compile(r"(?:[0-9]+[dhms])+")
_PART = re.compile(r"([0-9]+)([dhms])")


def parse_duration(value: object) -> timedelta:
    """Parse a duration written as text (or the integer 0). Raises ValueError with a one-line message."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not a duration: {EXPECTED}")
    if isinstance(value, int):
        if value == 0:
            return timedelta(0)
        raise ValueError(f'{value} is not a duration: add a unit s, m, h or d, like "{value}s"')
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not a duration: {EXPECTED}")
    text = value.strip()
    if text == "0":
        return timedelta(0)
    if not _SHAPE.fullmatch(text):
        raise ValueError(f"{value!r} is not a duration: {EXPECTED}")
    parts = _PART.findall(text)
    order = [list(UNITS).index(unit) for _, unit in parts]
    if order != sorted(set(order)):
        raise ValueError(f'{value!r} is not a duration: write each unit once, largest first, like "1h30m"')
    seconds = sum(int(number) * UNITS[unit] for number, unit in parts)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{value!r} is too long a duration") from None


def format_duration(duration: timedelta) -> str:
    """The canonical text of a duration, the inverse of :func:`parse_duration`: ``timedelta(minutes=90)`` -> "1h30m"."""
    total = duration.total_seconds()
    if total != int(total) or total < 0:
        return f"{total:g}s"
    remaining = int(total)
    if remaining == 0:
        return "0s"
    out = []
    for unit, size in UNITS.items():
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def _validate(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise config_error(("", str(exc))) from None


def at_least(minimum: timedelta) -> AfterValidator:
    """A lower bound for a :data:`Duration`: ``Annotated[Duration, at_least(timedelta(seconds=10))]``."""

    def check(value: timedelta) -> timedelta:
        if value < minimum:
            message = f"must be at least {format_duration(minimum)}, got {format_duration(value)!r}"
            raise config_error(("", message))
        return value

    return AfterValidator(check)


def at_most(maximum: timedelta, why: str) -> AfterValidator:
    """An upper bound for a :data:`Duration`, with the reason a longer one cannot be meant:
    ``Annotated[Duration, at_most(timedelta(days=1), "polls are at least daily")]``."""

    def check(value: timedelta) -> timedelta:
        if value > maximum:
            message = f"must be at most {format_duration(maximum)} ({why}), got {format_duration(value)!r}"
            raise config_error(("", message))
        return value

    return AfterValidator(check)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


Duration = Annotated[
    timedelta,
    PlainValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A pydantic field type: a ``timedelta`` written as text like ``"5m"`` (see the module docstring)."""
