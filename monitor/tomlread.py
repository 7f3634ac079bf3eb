"""Reading a strict TOML input's text and parsing it, a failure being one problem located at its line.

The first steps of :func:`monitor.config.load_settings` and of reading rule and rule test files: the file's
bytes as UTF-8 text (bytes that are not UTF-8 reported with their line and column), then tomllib's document
(its error rephrased as one ``invalid TOML`` problem, with the line and column tomllib names).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, Problem

_TOML_POSITION = re.compile(r"^(.*) \(at (?:line (\d+), column (\d+)|end of document)\)$", re.DOTALL)


def read_text(source: Path, shown: str, what: str = "config file") -> str:
    """The file's text; a file that cannot be read, or is not UTF-8, is one problem naming ``what`` it is (and,
    for bytes that are not UTF-8, the line and column of the first)."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(shown, None, "", f"cannot read the {what}: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        message = f"cannot read the {what}: not UTF-8 text (column {column}: byte 0x{data[exc.start]:02x})"
        raise ConfigError([Problem(shown, line, "", message)]) from None


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        message, line, column = (match.group(1), match.group(2), match.group(3)) if match else (str(exc), None, None)
        message = message[:1].lower() + message[1:]
        if column:
            message += f" (column {column})"
        problem = Problem(shown, int(line) if line else text.count("\n") + 1, "", f"invalid TOML: {message}")
        raise ConfigError([problem]) from None
