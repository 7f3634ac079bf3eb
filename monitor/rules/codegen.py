"""Turning checked conditions into lines of Python: the :class:`Emitter` that writes each condition's lines.

A checked condition (built by :mod:`monitor.rules.expr`) is a tree of :mod:`monitor.rules.ir` nodes. The
emitter writes straight-line Python for it: each value read once into a local (``v3 = w1.get(k2)``, see
:mod:`monitor.rules.reads`), each operation one line with the missing-data rules spelt out (``t4 = None if v3
is None else v3 > k5``); :meth:`Emitter.decide` writes the lines that report a condition true or undecided,
stopping a top-level ``and``/``or`` at its first decisive part. Every constant (numbers, strings, lists, window
and metric names) is a parameter ``k0``, ``k1``, ...: no text from a rule file is ever written into the lines.
:mod:`monitor.rules.program` assembles and audits them into functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard

from monitor.rules.ir import IR, Const, Load, Op
from monitor.rules.reads import Reads, indent
from monitor.rules.resolve import Ref

_COMPARE = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_BINARY = {"+": "+", "-": "-", "*": "*"}


class Emitter(Reads):
    """Source for a group of conditions over one entity: shared reads (prologue, :class:`Reads`), then each
    condition's lines."""

    def emit(self, node: IR, out: list[str]) -> str:
        """Append the lines computing ``node`` to ``out``; return the operand (a local or constant) holding it."""
        if isinstance(node, Const):
            return self.const(node.value)
        if isinstance(node, Load):
            return self.load(node.ref)
        op, args = node.op, node.args
        if op in ("has", "changed", "delta"):
            return self._previous(op, args, out)
        values = [self.emit(arg, out) for arg in args]
        guards = [f"{v} is None" for v, arg in zip(values, args, strict=True) if _nullable(arg)]
        target = self.fresh("t")
        if op in ("and", "or"):
            decisive, other = ("False", "True") if op == "and" else ("True", "False")
            hit = " or ".join(f"{v} is {decisive}" for v in values)
            unknown = " or ".join(guards) or "False"
            out.append(f"{target} = {decisive} if {hit} else None if {unknown} else {other}")
            return target
        if op in _COMPARE:
            expr = f"{values[0]} {_COMPARE[op]} {values[1]}"
        elif op in _BINARY:
            expr = f"{values[0]} {_BINARY[op]} {values[1]}"
        elif op == "/":
            guards.append(f"not {values[1]}")  # division by zero is missing, like a value the API did not return
            expr = f"{values[0]} / {values[1]}"
        elif op in ("in", "not in"):
            expr = f"{values[0]} {op} {values[1]}"
        elif op == "not":
            expr = f"not {values[0]}"
        elif op == "neg":
            expr = f"-{values[0]}"
        elif op == "abs":
            expr = f"({values[0]} if {values[0]} >= {self.const(0)} else -{values[0]})"
        elif op in ("min", "max"):
            expr = values[0]
            for value in values[1:]:
                pick = self.fresh("t")
                test = "<=" if op == "min" else ">="
                choice = f"{expr} if {expr} {test} {value} else {value}"
                out.append(f"{pick} = None if {expr} is None or {value} is None else {choice}")
                expr = pick
            out.append(f"{target} = {expr}")
            return target
        else:
            raise AssertionError(f"unknown operation {op}")
        guard = " or ".join(guards)
        out.append(f"{target} = None if {guard} else {expr}" if guard else f"{target} = {expr}")
        return target

    def decide(self, node: IR, refs: Sequence[Ref], out: list[str], hit: str, unknown: str) -> None:
        """Lines that call ``hit((cur, values))`` when ``node`` is true (``values``: what ``refs`` read, in
        order) and ``unknown(cur)`` when it is undecided.

        A top-level ``and`` (``or``) stops at the first part that is false (true), the way most rules are
        decided: ``spend > 500 and ...`` is over after one comparison for most entities. The loop runs once;
        ``break`` leaves it early. ``n`` remembers an undecided part (Kleene: unknown unless decided).
        An ``and`` is true only once every part ran, so every value is read by then; an ``or`` reads all its
        values first, so that a true part can report them.
        """
        self.inline = out
        if isinstance(node, Op) and node.op == "or":
            for ref in refs:
                self.load(ref)
        if _comparison(node):
            test, guards = self._test(node, out)
            out += [f"if {guards}:", f"    {unknown}(cur)", f"elif {test}:"] if guards else [f"if {test}:"]
            out.append(f"    {self._hit(hit, refs)}")
            return
        if not (isinstance(node, Op) and node.op in ("and", "or")):
            result = self.emit(node, out)
            found = self._hit(hit, refs)
            out += [f"if {result} is True:", f"    {found}", f"elif {result} is None:", f"    {unknown}(cur)"]
            return
        conjunction = node.op == "and"
        flag = self.fresh("n")
        inner = [f"{flag} = False"]
        self.inline = inner
        for part in node.args:
            if _comparison(part):
                test, guards = self._test(part, inner)
                if guards:
                    inner += [f"if {guards}:", f"    {flag} = True"]
                if conjunction:
                    inner += [f"{'elif' if guards else 'if'} not {test}:", "    break"]
                else:
                    inner += [f"{'elif' if guards else 'if'} {test}:", f"    {self._hit(hit, refs)}", "    break"]
                continue
            value = self.emit(part, inner)
            if conjunction:
                inner += [f"if {value} is False:", "    break"]
            else:
                inner += [f"if {value} is True:", f"    {self._hit(hit, refs)}", "    break"]
            if _nullable(part):
                inner += [f"if {value} is None:", f"    {flag} = True"]
        if conjunction:
            inner += [f"if {flag}:", f"    {unknown}(cur)", "else:", f"    {self._hit(hit, refs)}", "break"]
        else:
            inner += [f"if {flag}:", f"    {unknown}(cur)", "break"]
        out += ["while True:", *indent(inner, 4)]

    def _hit(self, hit: str, refs: Sequence[Ref]) -> str:
        values = "".join(f"{self.load(ref)}, " for ref in refs).rstrip(" ")
        return f"{hit}((cur, ({values})))"

    def _test(self, node: Op, out: list[str]) -> tuple[str, str]:
        """A comparison as (test, guard): the guard is true when an operand is missing."""
        left, right = (self.emit(arg, out) for arg in node.args)
        guards = [f"{v} is None" for v, arg in zip((left, right), node.args, strict=True) if _nullable(arg)]
        return f"{left} {_COMPARE.get(node.op, node.op)} {right}", " or ".join(guards)

    def _previous(self, op: str, args: tuple[Any, ...], out: list[str]) -> str:
        target = self.fresh("t")
        current = self.load(args[0].ref)
        if op == "has":
            out.append(f"{target} = {current} is not None")
            return target
        before = self.load(args[1].ref)
        self.uses_prev = True
        if op == "changed":
            out.append(f"{target} = None if prev is None else {current} != {before}")
        else:
            missing = f"prev is None or {current} is None or {before} is None"
            out.append(f"{target} = None if {missing} else {current} - {before}")
        return target


def _comparison(node: IR) -> TypeGuard[Op]:
    return isinstance(node, Op) and (node.op in _COMPARE or node.op in ("in", "not in"))


def _nullable(node: IR) -> bool:
    if isinstance(node, Const):
        return False
    if isinstance(node, Load):
        return node.ref.kind != "time"  # hour, weekday and day_elapsed are always known
    return node.op != "has"
