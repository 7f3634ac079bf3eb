"""The ``when`` language's syntax: a recursive-descent parser over :mod:`monitor.rules.tokens`, giving a small AST.

Grammar (lowest precedence first; the same order as Python)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" list ]   (no chaining)
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | atom
    atom       := NUMBER | STRING | "true" | "false" | name | function "(" argument ("," argument)* ")"
    argument   := condition | IDENT "=" condition          keywords last: baseline(spend, weeks=3)
                | "(" condition ")"
    name       := IDENT ("." IDENT)*           resolved later: metric, field, window.metric, prev.x, ...
    list       := "[" literal ("," literal)* [","] "]"        literal := ["-"] NUMBER | STRING

Strings are in double or single quotes with the escapes \\" \\' \\\\ \\n \\t. Numbers are decimal, with an
optional fraction, exponent and ``_`` separators. There is no attribute access, subscript, call of anything
but the listed functions, assignment or statement: the parser only builds data, it never evaluates anything.

Every error is an :class:`ExprError` carrying the 0-based position of the offending text. The tree's nodes live in
:mod:`monitor.rules.nodes` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.rules.nodes import Binary, Call, In, Literal, Logic, Name, Node, Not, Unary
from monitor.rules.tokens import COMPARISONS, ExprError, Token, describe, tokenize

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Binary",
    "Call",
    "In",
    "Literal",
    "Logic",
    "Name",
    "Node",
    "Not",
    "Unary",
    "parse",
]

MAX_LENGTH = 4000
MAX_DEPTH = 64
_EQUALS = "use == to compare (a single = is not an operator)"
_WORD_MISTAKES = {
    "True": "write true in lower case",
    "False": "write false in lower case",
    "None": "there is no null: has(x) tests whether x has data",
    "null": "there is no null: has(x) tests whether x has data",
    "nil": "there is no null: has(x) tests whether x has data",
    "AND": "write 'and' in lower case",
    "OR": "write 'or' in lower case",
    "NOT": "write 'not' in lower case",
    "IN": "write 'in' in lower case",
}
# --- parser ------------------------------------------------------------------------------------------------


def parse(text: str) -> Node:
    """Parse one condition. Raises :class:`ExprError` at the first syntax error."""
    if len(text) > MAX_LENGTH:
        raise ExprError([(None, f"too long ({len(text)} characters; at most {MAX_LENGTH})")])
    if not text.strip():
        raise ExprError([(None, "is empty: write a condition, like spend > 100")])
    return _Parser(tokenize(text)).run()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        return self.tok.kind == kind and (not texts or self.tok.text in texts)

    def fail(self, message: str, token: Token | None = None) -> ExprError:
        return ExprError([((token or self.tok).pos, message)])

    def nested(self, opening: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested too deeply (more than {MAX_DEPTH} levels)", opening)

    def run(self) -> Node:
        node = self.or_()
        if not self.at("end"):
            tok = self.tok
            if tok.kind == "op" and tok.text == ")":
                raise self.fail("')' without a matching '('")
            if tok.kind == "op" and tok.text == ".":
                raise self.fail("'.' only joins a window or prev to a name, like yesterday.cpc or prev.spend")
            if tok.text in _WORD_MISTAKES:
                raise self.fail(_WORD_MISTAKES[tok.text])
            raise self.fail(f"unexpected {describe(tok)} after a complete expression (missing 'and' or 'or'?)")
        return node

    def or_(self) -> Node:
        return self.logic("or", self.and_)

    def and_(self) -> Node:
        return self.logic("and", self.not_)

    def logic(self, op: str, operand: Callable[[], Node]) -> Node:
        parts = [operand()]
        while self.at("kw", op):
            self.advance()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return Logic(parts[0].pos, parts[-1].end, op, tuple(parts))

    def not_(self) -> Node:
        if self.at("kw", "not") and self.tokens[self.index + 1].text != "in":
            start = self.advance()
            self.nested(start)
            operand = self.not_()
            self.depth -= 1
            return Not(start.pos, operand.end, operand)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        node: Node = left
        if self.at("op", "="):  # the tokenizer lets '=' through only after "(name" or ", name": a keyword
            raise self.fail(_EQUALS)
        if self.at("op", *COMPARISONS):
            op = self.advance().text
            right = self.sum()
            node = Binary(left.pos, right.end, op, left, right)
        elif self.at("kw", "in") or (self.at("kw", "not") and self.tokens[self.index + 1].text == "in"):
            negated = self.advance().text == "not"
            if negated:
                self.advance()
            items, end = self.items()
            node = In(left.pos, end, left, items, negated)
        if node is not left and (self.at("op", *COMPARISONS) or self.at("kw", "in")):
            raise self.fail("comparisons cannot be chained: write a < b and b < c")
        return node

    def items(self) -> tuple[tuple[Literal, ...], int]:
        if not self.at("op", "["):
            raise self.fail(f'\'in\' needs a list, like secondary_status in ["A", "B"]; got {describe(self.tok)}')
        opening = self.advance()
        items: list[Literal] = []
        while not self.at("op", "]"):
            start = self.tok
            sign = -1 if self.at("op", "-") else 1
            if sign < 0:
                self.advance()
            tok = self.tok
            if tok.kind == "num" or (tok.kind == "str" and sign > 0):
                self.advance()
                value = tok.value if isinstance(tok.value, str) else sign * tok.value
                items.append(Literal(start.pos, tok.end, value))
            elif tok.kind == "end":
                raise self.fail("the list is not closed: missing ']'", start)
            else:
                raise self.fail(f"a list holds numbers or strings; got {describe(tok)}")
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", "]"):
                raise self.fail(f"expected ',' or ']' in the list, got {describe(self.tok)}")
        if not items:
            raise self.fail("the list is empty", opening)
        return tuple(items), self.advance().end

    def sum(self) -> Node:
        node = self.product()
        while self.at("op", "+", "-"):
            op = self.advance().text
            right = self.product()
            node = Binary(node.pos, right.end, op, node, right)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("op", "*", "/"):
            op = self.advance().text
            right = self.unary()
            node = Binary(node.pos, right.end, op, node, right)
        return node

    def unary(self) -> Node:
        if self.at("op", "-", "+"):
            start = self.advance()
            self.nested(start)
            operand = self.unary()
            self.depth -= 1
            return operand if start.text == "+" else Unary(start.pos, operand.end, "-", operand)
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind in ("num", "str"):
            self.advance()
            return Literal(tok.pos, tok.end, tok.value)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.advance()
            return Literal(tok.pos, tok.end, tok.text == "true")
        if tok.kind == "op" and tok.text == "(":
            self.nested(self.advance())
            node = self.or_()
            self.depth -= 1
            if not self.at("op", ")"):
                raise self.fail(f"missing ')' for the '(' at column {tok.pos + 1}; got {describe(self.tok)}")
            self.advance()
            return node
        if tok.kind == "name":
            return self.name()
        if tok.kind == "op" and tok.text == "[":
            raise self.fail("a list is only allowed after 'in'")
        if tok.kind == "kw":
            raise self.fail(f"expected a value, got the keyword {tok.text!r}")
        raise self.fail(f"expected a value, got {describe(tok)}")

    def name(self) -> Node:
        first = self.advance()
        if first.text in _WORD_MISTAKES:
            raise self.fail(_WORD_MISTAKES[first.text], first)
        parts, end = [first.text], first.end
        while self.at("op", "."):
            self.advance()
            if not self.at("name"):
                raise self.fail(f"expected a name after '.', got {describe(self.tok)}")
            tok = self.advance()
            parts.append(tok.text)
            end = tok.end
        if self.at("op", "["):
            raise self.fail("subscripts are not supported: '[' is only for lists after 'in'")
        if not self.at("op", "("):
            return Name(first.pos, end, tuple(parts))
        if len(parts) > 1:
            raise self.fail(f"{'.'.join(parts)} cannot be called: only functions like has(x) can", first)
        self.nested(self.advance())
        args: list[Node] = []
        keywords: list[tuple[str, Node]] = []
        while not self.at("op", ")"):
            if self.at("name") and self.tokens[self.index + 1].text == "=":
                key = self.advance()
                self.advance()
                keywords.append((key.text, self.or_()))
            elif keywords:
                raise self.fail(f"a keyword argument like weeks=4 comes after the others in {first.text}()")
            else:
                args.append(self.or_())
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", ")"):
                raise self.fail(f"expected ',' or ')' in the call of {first.text}(), got {describe(self.tok)}")
        self.depth -= 1
        return Call(first.pos, self.advance().end, first.text, tuple(args), tuple(keywords))
