"""The ``when`` language's syntax tree: what :mod:`monitor.rules.syntax` parses a condition into (data only; names
are resolved later, by :mod:`monitor.rules.resolve`). Every node keeps the 0-based position of its text."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Binary", "Call", "In", "Literal", "Logic", "Name", "Node", "Not", "Unary"]


@dataclass(frozen=True, slots=True)
class Node:
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: float | int | str | bool


@dataclass(frozen=True, slots=True)
class Name(Node):
    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    #: Keyword arguments, ``weeks=4``: (name, value) pairs in the order written.
    keywords: tuple[tuple[str, Node], ...] = ()


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # + - * / and the comparisons
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class In(Node):
    operand: Node
    items: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
