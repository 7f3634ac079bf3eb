"""Where a key is defined in a TOML document, so that problems can be reported as ``file:line``.

tomllib returns plain values without positions. :class:`KeyIndex` re-scans the text just far enough to learn the
line on which every table, key and array element begins, and answers for a path of keys and indices the way
pydantic reports locations: ``("tiktok", "access_token")``, ``("rule", 2, "when")`` for the third ``[[rule]]``,
``("email", "to", 1)`` for the second element of an array.

It understands ``[table]``, ``[a.b]`` and ``[[array.of.tables]]`` headers, ``key = value``, dotted and quoted keys,
inline tables and arrays (nested, over several lines), all four kinds of strings including multi-line ones, and
comments. It is meant for text tomllib accepted: on anything it does not understand it skips to the next line;
it never raises.
"""

from __future__ import annotations

import bisect
import re

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b", '"': '"', "\\": "\\"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_SCALAR_END = ",]}#\r\n"


class _Confused(Exception):
    """The scanner met something it does not understand; the caller skips to the next line."""


class KeyIndex:
    """The lines of every table, key and array element in one TOML text. Build once, ask many times."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        _Scanner(text, self._lines).run()

    def exact(self, path: KeyPath) -> int | None:
        """The line where exactly ``path`` is defined, or None."""
        return self._lines.get(tuple(path))

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``; else of its nearest enclosing table, key or element that is written; else None."""
        path = tuple(path)
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None


def key_line(text: str, path: KeyPath) -> int | None:
    """The (1-based) line where ``path`` is defined in ``text``, falling back to its table; None if not written."""
    return KeyIndex(text).line(path)


class _Scanner:
    def __init__(self, text: str, out: dict[KeyPath, int]) -> None:
        self.text = text
        self.pos = 0
        self.out = out
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]
        self.arrays: dict[KeyPath, int] = {}  # array of tables -> index of its latest element

    # --- positions ---------------------------------------------------------------------------------------

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def mark(self, path: KeyPath, pos: int, *, replace: bool = False) -> None:
        if replace or path not in self.out:
            self.out[path] = self.line_at(pos)

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    # --- statements --------------------------------------------------------------------------------------

    def run(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            try:
                if self.peek() == "[":
                    table = self.header()
                else:
                    self.keyval(table)
                self.skip_blank(newlines=False)
                if self.pos < len(self.text) and self.peek() not in "\r\n":
                    raise _Confused
            except _Confused:
                self.skip_line(max(self.pos, start))

    def header(self) -> KeyPath:
        start = self.pos
        is_array = self.peek(2) == "[["
        self.pos += 2 if is_array else 1
        keys = self.key()
        self.skip_blank(newlines=False)
        closing = "]]" if is_array else "]"
        if self.peek(len(closing)) != closing:
            raise _Confused
        self.pos += len(closing)
        if not is_array:
            table = self.resolve(keys, start)
            self.mark(table, start)
            return table
        array = (*self.resolve(keys[:-1], start), keys[-1])
        self.mark(array, start)
        index = self.arrays.get(array, -1) + 1
        self.arrays[array] = index
        self.mark((*array, index), start, replace=True)
        return (*array, index)

    def resolve(self, keys: tuple[str, ...], pos: int) -> KeyPath:
        """The path of a header's keys: each array of tables on the way means its latest element."""
        path: KeyPath = ()
        for key in keys:
            path = (*path, key)
            self.mark(path, pos)
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def keyval(self, table: KeyPath) -> None:
        start = self.pos
        keys = self.key()
        self.skip_blank(newlines=False)
        if self.peek() != "=":
            raise _Confused
        self.pos += 1
        self.skip_blank(newlines=False)
        for end in range(1, len(keys) + 1):
            self.mark((*table, *keys[:end]), start)
        self.value((*table, *keys))

    # --- keys --------------------------------------------------------------------------------------------

    def key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char == '"':
                parts.append(self.basic_string())
            elif char == "'":
                parts.append(self.literal_string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise _Confused
                parts.append(match.group())
                self.pos = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # --- values ------------------------------------------------------------------------------------------

    def value(self, path: KeyPath) -> None:
        char = self.peek()
        if char == '"':
            if self.peek(3) == '"""':
                self.multiline_string('"')
            else:
                self.basic_string()
        elif char == "'":
            if self.peek(3) == "'''":
                self.multiline_string("'")
            else:
                self.literal_string()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1
            if self.pos == start:
                raise _Confused

    def array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                raise _Confused
            if self.peek() == "]":
                self.pos += 1
                return
            self.mark((*path, index), self.pos)
            self.value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise _Confused

    def inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self.skip_blank(newlines=True)  # TOML 1.1 allows newlines inside inline tables
            if self.pos >= len(self.text):
                raise _Confused
            if self.peek() == "}":
                self.pos += 1
                return
            self.keyval(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise _Confused

    def basic_string(self) -> str:
        text, pos = self.text, self.pos + 1
        out = []
        while pos < len(text) and text[pos] not in '"\n':
            char = text[pos]
            if char != "\\":
                out.append(char)
                pos += 1
                continue
            code = text[pos + 1 : pos + 2]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                pos += 2
            elif code in _HEX_ESCAPES:
                digits = text[pos + 2 : pos + 2 + _HEX_ESCAPES[code]]
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    raise _Confused from None
                pos += 2 + len(digits)
            else:
                raise _Confused
        if pos >= len(text) or text[pos] != '"':
            raise _Confused
        self.pos = pos + 1
        return "".join(out)

    def literal_string(self) -> str:
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            raise _Confused
        content = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return content

    def multiline_string(self, quote: str) -> None:
        text, pos = self.text, self.pos + 3
        while pos < len(text):
            if quote == '"' and text[pos] == "\\":
                pos += 2
            elif text.startswith(quote * 3, pos):
                run = 3
                while run < 5 and text[pos + run : pos + run + 1] == quote:
                    run += 1  # up to two quotes right before the delimiter belong to the string
                self.pos = pos + run
                return
            else:
                pos += 1
        raise _Confused

    # --- blanks ------------------------------------------------------------------------------------------

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs and comments; also line breaks when ``newlines``."""
        text = self.text
        blank = " \t\r\n" if newlines else " \t"
        while self.pos < len(text):
            char = text[self.pos]
            if char in blank:
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def skip_line(self, pos: int) -> None:
        end = self.text.find("\n", pos)
        self.pos = len(self.text) if end < 0 else end + 1
