"""Turning checked conditions into lines of Python: the IR, and the :class:`Emitter` that writes the lines.

A checked condition (built by :mod:`monitor.rules.expr`) is a tree of :class:`Const`, :class:`Load` (a value
an entity has, see :class:`~monitor.rules.resolve.Ref`) and :class:`Op`. The emitter writes straight-line
Python for it: each value read once into a local (``v3 = w1.get(k2)``), each operation one line with the
missing-data rules spelt out (``t4 = None if v3 is None else v3 > k5``). Every constant (numbers, strings,
lists, window and metric names) is a parameter ``k0``, ``k1``, ...: no text from a rule file is ever written
into the lines. :mod:`monitor.rules.program` assembles and audits them into functions.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeGuard

from monitor.domain.budget import DAILY_MODES
from monitor.domain.profile import MIN_SHARE, PROFILE_WINDOW
from monitor.rules import names as N
from monitor.rules.resolve import Ref

EMPTY: Any = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class Load:
    ref: Ref


@dataclass(frozen=True, slots=True)
class Op:
    op: str  # see _BINARY, _COMPARE and Emitter.op
    args: tuple[Any, ...]


IR = Const | Load | Op

_COMPARE = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_BINARY = {"+": "+", "-": "-", "*": "*"}
FIELD_ATTRS = frozenset({*N.FIELDS, "id"}) - {"ad_id"}


class Emitter:
    """Source for a group of conditions over one entity: shared reads (prologue), then each condition's lines."""

    def __init__(self) -> None:
        self.consts: list[Any] = []
        self.getters: list[Callable[[Any], tuple[Any, ...]]] = []  # parameters g0, g1, ...: see preload()
        self._const_slots: dict[tuple[type, Any], str] = {}
        self.prologue: list[str] = []
        self._reads: dict[tuple[Any, ...], str] = {}
        self._numbers = itertools.count()
        self.uses_prev = False
        self.shared: set[tuple[Any, ...]] | None = None  # None: every read goes to the prologue
        self.inline: list[str] = []  # where reads used by one condition only go: just before their first use

    def const(self, value: Any) -> str:
        key = (type(value), value)
        if key not in self._const_slots:
            self._const_slots[key] = f"k{len(self.consts)}"
            self.consts.append(value)
        return self._const_slots[key]

    def fresh(self, letter: str) -> str:
        return f"{letter}{next(self._numbers)}"

    def _once(self, key: tuple[Any, ...], letter: str, lines: Callable[[str], list[str]]) -> str:
        if key not in self._reads:
            name = self._reads[key] = self.fresh(letter)
            shared = self.shared is None or key in self.shared
            (self.prologue if shared else self.inline).extend(lines(name))
        return self._reads[key]

    def read_keys(self) -> set[tuple[Any, ...]]:
        return set(self._reads)

    def window(self, window: str, prev: bool) -> str:
        slot = self.const(window)
        if prev:
            self.uses_prev = True
            read = f"E if prev is None else prev.metrics.get({slot}, E)"
            return self._once(("w", window, True), "p", lambda n: [f"{n} = {read}"])
        return self._once(("w", window, False), "w", lambda n: [f"{n} = cur.metrics.get({slot}, E)"])

    def preload(self, keys: Iterable[tuple[Any, ...]]) -> None:
        """Prologue lines reading several metrics of one window with one call, for the read keys ``keys``.

        ``v2, v3, v5 = g0(w1)`` (an ``operator.itemgetter``) costs one call where ``w1.get(k1)`` costs one per
        metric; reads are most of an evaluation's time. A window without data (``E``) gives None for each; a
        row that lacks one of the metrics falls back to ``.get`` for each, so a missing key is still None.
        (Windows are plain dicts behind read-only proxies, as :func:`monitor.domain.values.freeze_metrics`
        makes them, or read-only dicts without ``__missing__``, as the fetch makes them: a mapping with
        ``__missing__`` would answer the getter with its default.)
        """
        groups: dict[tuple[str, bool], list[str]] = {}
        for key in keys:
            if key[0] == "m" and key not in self._reads:
                groups.setdefault((key[1], key[3]), []).append(key[2])
        for (window, prev), metrics in sorted(groups.items()):
            if len(metrics) < 2:
                continue
            # the window must be read in the prologue too: a metric read by two conditions makes its window so
            assert self.shared is None or ("w", window, prev) in self.shared, (window, prev)
            source = self.window(window, prev)
            names = [self._reads.setdefault(("m", window, metric, prev), self.fresh("v")) for metric in metrics]
            getter = f"g{len(self.getters)}"
            self.getters.append(operator.itemgetter(*metrics))
            fallback = [
                f"{name} = {source}.get({self.const(metric)})" for name, metric in zip(names, metrics, strict=True)
            ]
            self.prologue += [
                f"if {source} is E:",
                f"    {' = '.join(names)} = None",
                "else:",
                "    try:",
                f"        {', '.join(names)}, = {getter}({source})",
                "    except KeyError:",
                *indent(fallback, 8),
            ]

    def load(self, ref: Ref) -> str:
        """The local holding what ``ref`` reads (read once per entity, in the prologue)."""
        if ref.kind == "time":
            return {"hour": "hour", "weekday": "weekday", "day_elapsed": "elapsed"}[ref.key]
        if ref.kind == "account":  # currency
            return "currency"
        if ref.kind == "metric":
            assert ref.window is not None
            source, slot = self.window(ref.window, ref.prev), self.const(ref.key)
            return self._once(("m", ref.window, ref.key, ref.prev), "v", lambda n: [f"{n} = {source}.get({slot})"])
        if ref.kind == "derived":
            return self._derived(ref)
        self.uses_prev |= ref.prev
        attr = ref.attr
        if attr not in FIELD_ATTRS:
            raise AssertionError(f"not an entity field: {attr}")
        if ref.prev:
            return self._once(("f", attr, True), "v", lambda n: [f"{n} = None if prev is None else prev.{attr}"])
        return self._once(("f", attr, False), "v", lambda n: [f"{n} = cur.{attr}"])

    def _derived(self, ref: Ref) -> str:
        """budget_used = today's spend / daily budget; projected_spend = today's spend over the share of a day's
        spend expected by now (the entity's hourly profile, else base: monitor.domain.profile.projection; None
        early in the day); pace = budget_used / base (linear)."""
        owner = "prev" if ref.prev else "cur"
        self.uses_prev |= ref.prev
        today, spend = self.window("today", ref.prev), self.const("spend")
        if ref.key == "projected_spend":  # over the entity's hourly profile when it has one, else linear
            profile, least, share = self.window(PROFILE_WINDOW, False), self.const(MIN_SHARE), self.fresh("t")
            return self._once(  # monitor.domain.profile.projection, inlined (the audit allows no calls)
                ("projected_spend",),
                "v",
                lambda n: [f"{n} = None", "if base:", f"    s = {today}.get({spend})", "    if s is not None:",
                           f"        {share} = {profile}.get({spend})", f"        if {share} is None:",
                           f"            {n} = s / base", f"        elif {share} >= {least}:",
                           f"            {n} = s / {share}"],
            )  # fmt: skip
        daily = self.const(DAILY_MODES)
        guard = "prev is not None and " if ref.prev else ""
        over = " and base" if ref.key == "pace" else ""
        divisor = f"{owner}.budget * base" if ref.key == "pace" else f"{owner}.budget"
        return self._once(
            (ref.key, ref.prev),
            "v",
            lambda n: [
                f"{n} = None",
                f"if {guard}{owner}.budget and {owner}.budget_mode in {daily}{over}:",
                f"    s = {today}.get({spend})",
                "    if s is not None:",
                f"        {n} = s / ({divisor})" if over else f"        {n} = s / {divisor}",
            ],
        )

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


def indent(lines: list[str], spaces: int) -> list[str]:
    return [" " * spaces + line for line in lines]
