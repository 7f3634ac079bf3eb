"""Sizes in bytes as people write them in the configuration: ``"500MB"``, ``"1GB"``, ``"2.5 GiB"`` or a number.

Decimal units (kB, MB, GB, TB: powers of 1000, as disks are sold and ``df -H`` shows) and binary ones (KiB, MiB,
GiB, TiB: powers of 1024). :func:`parse_size` is the one reading; :func:`format_size` writes a size back for people.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

from monitor.configtypes import config_error

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes of ``text`` like ``"1GB"``; :class:`ValueError` says what was expected."""
    match = _SIZE.fullmatch(text)
    unit = match and _UNITS.get(match.group(2).lower())
    if match is None or unit is None:
        raise ValueError(f"expected a size like '500MB', '1GB' or '2GiB', got {text!r}")
    return int(float(match.group(1)) * unit)


def format_size(size: int) -> str:
    """``1500000000`` -> ``"1.5 GB"`` (decimal units, as :func:`parse_size` reads them)."""
    for unit, factor in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise config_error(("", f"expected a size like '1GB' or a number of bytes, got {value!r}"))
    try:
        size = value if isinstance(value, int) else parse_size(value)
    except ValueError as exc:
        raise config_error(("", str(exc))) from None
    if size < 0:
        raise config_error(("", "a size cannot be negative"))
    return size


#: A configuration value in bytes, written as ``"1GB"`` or a number.
ByteSize = Annotated[int, BeforeValidator(_size)]
