"""The ``when`` language: names and types checked once at load, then compiled (:mod:`monitor.rules.codegen`).

:func:`compile_when` parses a condition (:mod:`monitor.rules.syntax`), resolves every name against the
vocabulary (:mod:`monitor.rules.names`) for the rule's level and window, checks types, and returns a
:class:`Condition` holding a small typed tree (:mod:`monitor.rules.ir`); the engine compiles the
conditions of a level together from those trees (:mod:`monitor.rules.program`). A condition can only read the
values listed below; it cannot call, import or reach attributes: the language has no way to say so, and the
generated code is audited to contain no text from the rule file.

Names
    ``spend``, ``ctr``, ... (TikTok's metric names) read the rule's window; ``yesterday.cpc``, ``last_7d.spend``,
    ``lifetime.spend`` read another window (today, yesterday, last_3d, last_7d, last_14d, last_30d, lifetime).
    Entity fields: ``id``, ``name``, ``level``, ``advertiser_id``, ``campaign_id``, ``adgroup_id``, ``ad_id``,
    ``operation_status``, ``secondary_status``, ``budget``, ``budget_mode``. Derived: ``budget_used`` = today's
    spend / budget, for daily budgets only (a ratio: 1.0 is the whole budget); ``projected_spend`` = today's
    spend extrapolated to the whole local day (the entity's hourly profile, else linear; no data before 2 hours
    of it are gone: :mod:`monitor.domain.profile`, :mod:`monitor.rules.pacing`); ``pace`` = budget_used / the
    share of the day gone, daily budgets only (1.0: on track to spend the budget). Time, in the advertiser's
    zone: ``hour`` (0-23), ``weekday`` ("mon" .. "sun"), ``day_elapsed`` (0 to 1). The account: ``currency``
    ("USD"; no data when unknown). ``prev.x`` is x at the previous poll (not for the time, the account,
    projected_spend or pace).
Functions
    ``has(x)``, ``changed(x)``, ``delta(x)`` (x - prev.x), ``abs(x)``, ``min(a, b, ...)``, ``max(a, b, ...)``;
    ``baseline(x, weeks=4)`` and ``stddev(x, weeks=4)``: today's metric x as it usually is by this local hour on
    this weekday, from stored hourly history (:mod:`monitor.domain.baseline`; no data before two of the weeks).

Missing data (three-valued logic). A value the API did not return is *missing* (``None``), never zero.
Arithmetic with a missing value is missing; division by zero is missing. A comparison (or ``in``) with a missing
value is *unknown*. ``and`` is false if any side is false, else unknown if any side is unknown; ``or`` is true if
any side is true, else unknown if any side is unknown; ``not unknown`` is unknown. A rule fires only on true, so
``conversion == 0`` does not match an entity without a report row, and neither does ``not (conversion > 0)``.
``has(x)`` is never unknown. ``changed(x)`` and ``delta(x)`` are unknown when the entity was not in the previous
poll; ``changed(x)`` is true when x went from missing to a value or back.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from monitor.domain import Level
from monitor.domain.baseline import DEFAULT_WEEKS, KINDS, MAX_WEEKS, MIN_WEEKS, baseline_window
from monitor.domain.hourly import NOT_HOURLY
from monitor.domain.profile import PROFILE_METRIC, PROFILE_WINDOW
from monitor.rules import names as N
from monitor.rules.ir import IR, Const, Load, Op
from monitor.rules.program import compile_condition
from monitor.rules.resolve import Context, Ref, check_value, resolve
from monitor.rules.syntax import Binary, Call, In, Literal, Logic, Name, Node, Not, Unary, parse
from monitor.rules.tokens import ExprError

__all__ = ["Condition", "Context", "ExprError", "Ref", "compile_when"]

_ANY = "?"  # the type of something already reported as wrong: no further type errors about it
_ARTICLE = {N.NUMBER: "a number", N.STRING: "a string", N.CONDITION: "a condition (true or false)"}


class Condition:
    """A checked ``when``: ``ir`` is the checked tree (the engine compiles the conditions of a level together
    from it); ``refs`` are the values it reads, in order of appearance, ``names`` how each is shown.
    """

    __slots__ = ("_fn", "ir", "names", "refs", "text", "uses_prev")

    def __init__(self, text: str, ir: IR, refs: tuple[Ref, ...]) -> None:
        self.text = text
        self.ir = ir
        self.refs = refs
        self.uses_prev = any(r.prev for r in refs)
        self.names = tuple(ref.text for ref in refs)  # how each ref is shown: "spend", "yesterday.cpc"
        self._fn: Callable[[Context], bool | None] | None = None

    @property
    def fn(self) -> Callable[[Context], bool | None]:
        """This condition alone as ``fn(ctx) -> True | False | None``, compiled on first use. The daemon never
        uses it (the engine compiles a level's conditions together); bench/rules_eval.py times it."""
        if self._fn is None:
            self._fn = compile_condition(self.ir)
        return self._fn

    def metrics(self) -> set[tuple[str, str]]:
        """The (window, metric) pairs the condition reads (budget_used reads today's spend; projected_spend the
        entity's hourly profile too: monitor.domain.profile)."""
        found = {(r.window, r.key) for r in self.refs if r.kind == "metric" and r.window}
        if any(r.kind == "derived" for r in self.refs):
            found.add(("today", "spend"))
        if any(r.kind == "derived" and r.key == "projected_spend" for r in self.refs):
            found.add((PROFILE_WINDOW, PROFILE_METRIC))
        return found

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def compile_when(text: str, *, level: Level | None, window: str = N.DEFAULT_WINDOW) -> Condition:
    """Parse, check and compile one condition for rules of ``level`` (None: not known, skip level checks).

    Raises :class:`ExprError` listing every problem found (the first syntax error, or every name and type error).
    """
    tree = parse(text)
    checker = _Checker(text, level, window)
    piece = checker.node(tree)
    if piece.type not in (N.CONDITION, _ANY):
        checker.problem(tree, f"must be a condition that is true or false; this is {_ARTICLE[piece.type]}")
    if checker.problems:
        raise ExprError(checker.problems)
    assert piece.ir is not None
    return Condition(text, piece.ir, tuple(checker.refs.values()))


@dataclass(slots=True)
class _Piece:
    type: str
    ir: IR | None  # None after an error

    @property
    def ref(self) -> Ref | None:
        return self.ir.ref if isinstance(self.ir, Load) else None

    @property
    def constant(self) -> bool:
        return isinstance(self.ir, Const)


_WRONG = _Piece(_ANY, None)


class _Checker:
    def __init__(self, text: str, level: Level | None, window: str) -> None:
        self.text, self.level, self.window = text, level, window
        self.problems: list[tuple[int | None, str]] = []
        self.refs: dict[str, Ref] = {}

    def problem(self, node: Node, message: str) -> _Piece:
        self.problems.append((node.pos, message))
        return _WRONG

    def src(self, node: Node) -> str:
        return self.text[node.pos : node.end]

    def node(self, node: Node) -> _Piece:
        if isinstance(node, Literal):
            value = node.value
            kind = N.CONDITION if isinstance(value, bool) else N.STRING if isinstance(value, str) else N.NUMBER
            return _Piece(kind, Const(value))
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Unary):
            return self.build(N.NUMBER, "neg", (self.need(node.operand, N.NUMBER, "'-'"),))
        if isinstance(node, Binary):
            if node.op in ("+", "-", "*", "/"):
                left = self.need(node.left, N.NUMBER, f"'{node.op}'")
                right = self.need(node.right, N.NUMBER, f"'{node.op}'")
                if node.op == "/" and isinstance(right.ir, Const) and right.ir.value == 0:
                    return self.problem(node, "division by zero")
                return self.build(N.NUMBER, node.op, (left, right))
            return self.comparison(node)
        if isinstance(node, In):
            return self.membership(node)
        if isinstance(node, Not):
            return self.build(N.CONDITION, "not", (self.need(node.operand, N.CONDITION, "'not'"),))
        assert isinstance(node, Logic)
        parts = tuple(self.need(part, N.CONDITION, f"'{node.op}'") for part in node.operands)
        return self.build(N.CONDITION, node.op, parts)

    def need(self, node: Node, wanted: str, where: str) -> _Piece:
        piece = self.node(node)
        if piece.type in (wanted, _ANY):
            return piece
        hint = f" (did you mean {self.src(node)} > 0?)" if wanted == N.CONDITION and piece.type == N.NUMBER else ""
        return self.problem(node, f"{where} needs {_ARTICLE[wanted]}; {self.src(node)} is {_ARTICLE[piece.type]}{hint}")

    @staticmethod
    def build(kind: str, op: str, parts: tuple[_Piece, ...]) -> _Piece:
        if any(p.ir is None for p in parts):
            return _WRONG
        return _Piece(kind, Op(op, tuple(p.ir for p in parts)))

    def comparison(self, node: Binary) -> _Piece:
        left, right = self.node(node.left), self.node(node.right)
        if _ANY in (left.type, right.type):
            return _WRONG
        if left.type != right.type:
            message = f"cannot compare {self.src(node.left)} ({_ARTICLE[left.type]}) with {self.src(node.right)}"
            return self.problem(node, f"{message} ({_ARTICLE[right.type]})")
        if left.type != N.NUMBER and node.op not in ("==", "!="):
            return self.problem(node, f"{_ARTICLE[left.type]}s can only be compared with == and != (or in [...])")
        for named, other in ((left, right), (right, left)):
            ordered = named.ref is not None and named.ref.key == "day_elapsed"  # day_elapsed > 12 means hours
            if named.ref is not None and isinstance(other.ir, Const) and (node.op in ("==", "!=") or ordered):
                self.check_value(named.ref, other.ir.value, node)
        return self.build(N.CONDITION, node.op, (left, right))

    def membership(self, node: In) -> _Piece:
        operand = self.node(node.operand)
        kinds = {N.STRING if isinstance(item.value, str) else N.NUMBER for item in node.items}
        if len(kinds) > 1:
            return self.problem(node.items[0], "a list must hold only numbers or only strings")
        if operand.type == _ANY:
            return operand
        (kind,) = kinds
        if operand.type != kind:
            message = f"{self.src(node.operand)} is {_ARTICLE[operand.type]}, but the list holds {kind}s"
            return self.problem(node, message)
        if operand.ref is not None:
            for item in node.items:
                self.check_value(operand.ref, item.value, item)
        values = _Piece("list", Const(frozenset(item.value for item in node.items)))
        return self.build(N.CONDITION, "not in" if node.negated else "in", (operand, values))

    # --- names and functions ---------------------------------------------------------------------------

    def name(self, node: Name) -> _Piece:
        try:
            ref = resolve(node.parts, self.level, self.window)
        except ValueError as exc:
            return self.problem(node, str(exc))
        self.refs.setdefault(ref.text, ref)
        return _Piece(ref.type, Load(ref))

    def check_value(self, ref: Ref, value: object, node: Node) -> None:
        message = check_value(ref, value, self.level)
        if message:
            self.problem(node, message)

    def call(self, node: Call) -> _Piece:
        func, args = node.func, node.args
        if func not in N.FUNCTIONS:
            close = difflib.get_close_matches(func, list(N.FUNCTIONS), n=1)
            hint = f"did you mean {close[0]}()? " if close else ""
            return self.problem(node, f"unknown function {func}(); {hint}functions are {', '.join(N.FUNCTIONS)}")
        if func in KINDS:
            return self.baseline(node)
        if node.keywords:
            key, value = node.keywords[0]
            return self.problem(value, f"{func}() takes no keyword argument {key}= (to compare, write ==)")
        if func in ("min", "max"):
            if len(args) < 2:
                return self.problem(node, f"{func}() needs at least two numbers, like {N.FUNCTIONS[func]}")
            return self.build(N.NUMBER, func, tuple(self.need(arg, N.NUMBER, f"{func}()") for arg in args))
        if len(args) != 1:
            return self.problem(node, f"{func}() takes exactly one argument: {N.FUNCTIONS[func]}")
        if func == "abs":
            return self.build(N.NUMBER, "abs", (self.need(args[0], N.NUMBER, "abs()"),))
        (arg,) = args
        if not isinstance(arg, Name):
            return self.problem(arg, f"{func}() takes a name, like {func}(spend); got {self.src(arg)}")
        piece = self.name(arg)
        ref = piece.ref
        if ref is None:
            return piece
        if func == "has":
            return _Piece(N.CONDITION, Op("has", (Load(ref),)))
        if ref.prev or ref.kind in ("time", "account") or ref.key in N.TIMED:
            return self.problem(arg, f"{func}() compares with the previous poll: {ref.text} has no previous value")
        if func == "delta" and ref.type != N.NUMBER:
            return self.problem(arg, f"delta() needs a number; {ref.text} is {_ARTICLE[ref.type]}")
        previous = resolve(("prev", *ref.text.split(".")), self.level, self.window)
        self.refs.setdefault(previous.text, previous)
        kind = N.CONDITION if func == "changed" else N.NUMBER
        return _Piece(kind, Op(func, (Load(ref), Load(previous))))

    def baseline(self, node: Call) -> _Piece:
        """``baseline(metric, weeks=4)`` or ``stddev(...)``: a metric of a pseudo window (monitor.domain.baseline)."""
        func, usage = node.func, N.FUNCTIONS[node.func].split(":")[0]
        weeks = DEFAULT_WEEKS
        for key, value in node.keywords:
            if key != "weeks":
                return self.problem(value, f"{func}() has no argument {key}=; it is {usage}")
            number = value.value if isinstance(value, Literal) else None
            if isinstance(number, bool) or not isinstance(number, int) or not MIN_WEEKS <= number <= MAX_WEEKS:
                message = f"weeks is a whole number from {MIN_WEEKS} to {MAX_WEEKS}; got {self.src(value)}"
                return self.problem(value, message)
            weeks = number
        if len(node.args) != 1 or not isinstance(node.args[0], Name):
            return self.problem(node, f"{func}() takes one metric name, like {usage}")
        arg = node.args[0]
        parts = arg.parts[1:] if arg.parts[0] == "today" and len(arg.parts) == 2 else arg.parts
        metric = parts[0]
        if len(parts) != 1 or metric not in N.METRICS:
            why = "a metric of today so far" if len(parts) == 1 else "today's metric (no other window)"
            return self.problem(arg, f"{func}() reads {why}, like {usage}; got {self.src(arg)}")
        if metric in NOT_HOURLY:
            return self.problem(arg, f"{func}({metric}): {metric} does not add up over hours, so it has no baseline")
        shown = metric if weeks == DEFAULT_WEEKS else f"{metric}, weeks={weeks}"
        ref = Ref(f"{func}({shown})", N.NUMBER, "metric", metric, baseline_window(func, weeks), False)
        self.refs.setdefault(ref.text, ref)
        return _Piece(N.NUMBER, Load(ref))
