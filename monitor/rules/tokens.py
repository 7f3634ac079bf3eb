"""The ``when`` language's tokens: the tokenizer, and :class:`ExprError`, the one error of the language.

The tokenizer knows the mistakes people make coming from other languages (``&&``, ``=``, ``%``, ``**``) and
says what to write instead. Positions are 0-based offsets into the text; messages show 1-based columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_MISTAKES = {
    "&&": "use 'and' instead of '&&'",
    "&": "use 'and' instead of '&'",
    "||": "use 'or' instead of '||'",
    "|": "use 'or' instead of '|'",
    "!": "use 'not' instead of '!'",
    "=": "use == to compare (a single = is not an operator)",
    "%": "'%' is not an operator: ctr and the *_rate metrics are already in percent (write ctr < 0.5)",
    "**": "'**' is not supported: the arithmetic operators are + - * /",
    "//": "'//' is not supported: the arithmetic operators are + - * /",
    "^": "'^' is not supported: the arithmetic operators are + - * /",
    ";": "';' is not allowed: a condition is a single expression",
    "{": "'{' is not allowed here: lists are written [a, b]",
    "}": "'}' is not allowed here: lists are written [a, b]",
}
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<str>[\"'])"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||\*\*|//|[<>+\-*/()\[\],.=!&|%^;{}])"
)
MAX_NUMBER = 10**15  # numbers in a condition are smaller than this; metrics and budgets are
MAX_DIGITS = 15  # and have at most this many significant digits (a float's exact decimal precision)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


class ExprError(Exception):
    """A ``when`` expression is wrong. ``problems`` are (position, message) pairs, position 0-based or None."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(_located(pos, message) for pos, message in self.problems))


def _located(pos: int | None, message: str) -> str:
    return message if pos is None else f"{message} (column {pos + 1})"


def located(pos: int | None, message: str) -> str:
    """A problem as one line: the message and, when known, its 1-based column."""
    return _located(pos, message)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num" | "str" | "name" | "kw" | "op" | "end"
    text: str
    value: float | int | str  # num: the number; str: the decoded string; any other kind: its text
    pos: int
    end: int


# --- tokenizer ---------------------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExprError([(pos, f"unexpected character {text[pos]!r}")])
        kind, token_text, end = match.lastgroup or "", match.group(), match.end()
        if kind == "num":
            if end < len(text) and (text[end].isalnum() or text[end] in "_."):
                bad = re.match(r"[\w.]*", text[pos:]).group()  # type: ignore[union-attr]  # [\w.]* always matches
                raise ExprError([(pos, f"malformed number {bad!r}")])
            digits = token_text.replace("_", "")
            value: float | int | str = float(digits) if any(c in digits for c in ".eE") else int(digits)
            problem = number_problem(digits, value)
            if problem:
                raise ExprError([(pos, problem)])
            tokens.append(Token("num", token_text, value, pos, end))
        elif kind == "name":
            tokens.append(Token("kw" if token_text in KEYWORDS else "name", token_text, token_text, pos, end))
        elif kind == "str":
            value, end = _string(text, pos)
            tokens.append(Token("str", text[pos:end], value, pos, end))
        elif kind == "op":
            if token_text == "=" and _keyword_position(tokens):  # noqa: S105 -- an operator, not a password
                tokens.append(Token("op", token_text, token_text, pos, end))
            elif token_text in _MISTAKES:
                raise ExprError([(pos, _MISTAKES[token_text])])
            else:
                tokens.append(Token("op", token_text, token_text, pos, end))
        pos = end
    tokens.append(Token("end", "", "", len(text), len(text)))
    return tokens


def _keyword_position(tokens: list[Token]) -> bool:
    """Whether an '=' after ``tokens`` names a keyword argument: it follows a name right after '(' or ','."""
    return len(tokens) >= 2 and tokens[-1].kind == "name" and tokens[-2].kind == "op" and tokens[-2].text in ("(", ",")


def number_problem(digits: str, value: float | int | str) -> str | None:
    """Why a number written in a condition cannot be meant, or None: it must be finite, less than
    :data:`MAX_NUMBER` in size and have at most :data:`MAX_DIGITS` significant digits (more cannot be compared
    exactly: metrics are floating point)."""
    mantissa = re.split(r"[eE]", digits)[0].replace(".", "").strip("0")
    shown = digits if len(digits) <= 24 else f"{digits[:16]}... ({len(digits)} characters)"
    if not (isinstance(value, int | float) and abs(value) < MAX_NUMBER):  # also inf (1e400) and nan
        return f"{shown} is out of range: a number in a condition must be less than 1e15 in size"
    if len(mantissa) > MAX_DIGITS:
        return f"{shown} has more than {MAX_DIGITS} significant digits: more cannot be compared exactly"
    return None


def _string(text: str, start: int) -> tuple[str, int]:
    quote, pos = text[start], start + 1
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if char == "\\":
            code = text[pos + 1 : pos + 2]
            if code not in _ESCAPES:
                raise ExprError([(pos, f"unknown escape '\\{code}' in a string (known: \\\" \\' \\\\ \\n \\t)")])
            out.append(_ESCAPES[code])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise ExprError([(start, "string is not closed")])


def describe(token: Token) -> str:
    return "the end" if token.kind == "end" else repr(token.text)
