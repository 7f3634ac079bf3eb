"""The checked condition's tree (the IR): what :mod:`monitor.rules.expr` builds and :mod:`monitor.rules.codegen`
writes as lines of Python.

A tree of :class:`Const` (a literal value), :class:`Load` (a value an entity has, see
:class:`~monitor.rules.resolve.Ref`) and :class:`Op` (an operation on its arguments, see
:meth:`monitor.rules.codegen.Emitter.emit` for the operations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.rules.resolve import Ref


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class Load:
    ref: Ref


@dataclass(frozen=True, slots=True)
class Op:
    op: str  # see codegen's _BINARY, _COMPARE and Emitter.emit
    args: tuple[Any, ...]


IR = Const | Load | Op
