"""Compiling emitted lines into functions, fast, without letting a rule file write any code.

:mod:`monitor.rules.codegen` writes straight-line Python for conditions; this module wraps the lines in a
factory ``make(E, k0, k1, ..., m0, ...)`` whose parameters bind every constant and match predicate, compiles it
once with :func:`compile`, and calls it. Nothing written in a rule file is ever part of the source: every
number, string, list, window and metric name arrives as a parameter, and the only callables the code calls are
``.get``, the sinks the engine passes (``h0``, ``u0``, ``x0``, ``m0``, ``fail``) and ``operator.itemgetter``
objects made here from metric names (``g0``). :func:`audit` enforces this before anything is compiled: it
tokenizes the source and refuses any string or number literal, any name outside the allowlist, and any call of
something else. The code runs with an empty ``__builtins__`` (bar ``Exception`` and ``KeyError``), so it could
not reach ``open``, ``__import__`` or ``eval`` even by mistake.

Why not closures: a tree of closures costs a Python call per node; a program evaluates every rule of a level
for one entity in one frame, reading each value once, and stops an ``and`` at its first false part. That is
several times faster (bench/rules_eval.py).
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.rules.codegen import Emitter
from monitor.rules.ir import IR
from monitor.rules.reads import EMPTY, FIELD_ATTRS, indent
from monitor.rules.resolve import Ref

Program = Callable[..., None]
Conditioned = tuple[IR, Sequence[Ref], Callable[[Any], bool] | None]

_ALLOWED = frozenset(
    {"def", "return", "for", "in", "if", "elif", "else", "is", "not", "and", "or", "None", "True", "False"}
    | {"while", "break"}
    | {"try", "except", "as", "Exception", "KeyError", "make", "run", "cond", "c", "cur", "prev", "hour", "weekday"}
    | {"elapsed", "base", "currency"}
    | {"E", "kept"}
    | {"entities", "before", "exc", "metrics", "get", "budget", "budget_mode", "s", "fail", "continue"}
    | FIELD_ATTRS
)
_CALLABLE = frozenset({"get", "make", "run", "cond", "fail"})
_NUMBERED = re.compile(r"[kvwptmhuxng][0-9]+")
_NUMBERED_CALLABLE = re.compile(r"[mhuxg][0-9]+")
#: The parameters of a program's ``run`` before the sinks.
_RUN = ["entities", "before", "kept", "hour", "weekday", "elapsed", "base", "currency", "fail"]
_OPERATORS = frozenset({"(", ")", ",", ":", ".", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"})


@dataclass(frozen=True)
class Source:
    """Generated source (``text``, audited) and the values bound to its factory's parameters, in order."""

    text: str
    values: tuple[Any, ...]

    def build(self) -> Any:
        code = compile(self.text, "<rules>", "exec")
        namespace: dict[str, Any] = {"__builtins__": {"Exception": Exception, "KeyError": KeyError}}
        exec(code, namespace)  # noqa: S102 -- audited when made: no text from any rule file is in the source
        return namespace["make"](*self.values)


def compile_condition(node: IR) -> Callable[[Any], bool | None]:
    """One condition as ``cond(ctx) -> True | False | None``, ``ctx`` a :class:`~monitor.rules.resolve.Context`."""
    return condition_source(node).build()  # type: ignore[no-any-return]


def compile_program(conditions: Sequence[Conditioned]) -> Program:
    """Many conditions over many entities in one loop:
    ``run(entities, before, kept, hour, weekday, elapsed, base, currency, fail, *sinks)``.

    ``conditions`` are (condition, refs, match) triples; ``match(entity)`` (None: every entity) scopes a
    condition. ``before`` maps entity keys to the previous poll's entities; an entity it does not hold has no
    previous state, or (``kept`` true) is its own previous state: then ``before`` need hold only the entities
    that are not (see :func:`monitor.rules.engine.evaluate`'s ``moved``). ``hour``, ``weekday``, ``elapsed``
    and ``base`` are the advertiser's local day (:class:`monitor.rules.pacing.LocalDay`), ``currency`` its
    own. ``sinks`` are three callables per condition, in order: ``hit((entity, values))`` (true; ``values``
    what ``refs`` read), ``unknown(entity)`` (no data to decide), ``error(entity, exc)``; ``fail(entity,
    exc)`` when even reading an entity failed.
    """
    return program_source(conditions).build()  # type: ignore[no-any-return]  # exec'd code: mypy cannot see it


def condition_source(node: IR) -> Source:
    emitter = Emitter()
    body: list[str] = []
    result = emitter.emit(node, body)
    head = ["cur = c.cur", "prev = c.prev", "hour = c.hour", "weekday = c.weekday", "elapsed = c.elapsed"]
    head += ["base = c.base", "currency = c.currency"]
    lines = [
        f"def make({_params(['E', *_slots(emitter)])}):",
        "    def cond(c):",
        *indent([*head, *emitter.prologue, *body, f"return {result}"], 8),
        "    return cond",
    ]
    return _source(lines, [EMPTY, *emitter.consts])


def program_source(conditions: Sequence[Conditioned]) -> Source:
    seen: dict[tuple[Any, ...], int] = {}
    for node, refs, _ in conditions:  # values read by two conditions or more are read once per entity, up front
        probe = Emitter()
        probe.decide(node, refs, [], "h", "u")
        for key in probe.read_keys():
            seen[key] = seen.get(key, 0) + 1
    emitter = Emitter()
    emitter.shared = {key for key, count in seen.items() if count > 1}
    emitter.preload(sorted(emitter.shared, key=repr))
    blocks: list[str] = []
    sinks: list[str] = []
    matches: list[str] = []
    for number, (node, refs, match) in enumerate(conditions):
        body: list[str] = []
        hit, unknown, error = f"h{number}", f"u{number}", f"x{number}"
        emitter.decide(node, refs, body, hit, unknown)
        sinks += [hit, unknown, error]
        block = ["try:", *indent(body, 4), "except Exception as exc:", f"    {error}(cur, exc)"]
        if match is not None:
            matches.append(f"m{number}")
            block = [f"if m{number}(cur):", *indent(block, 4)]
        blocks += block
    prologue = ["prev = before.get((cur.level, cur.id), cur if kept else None)"] if emitter.uses_prev else []
    prologue += emitter.prologue
    lines = [
        f"def make({_params(['E', *_slots(emitter), *_getters(emitter), *matches])}):",
        f"    def run({_params([*_RUN, *sinks])}):",
        "        for cur in entities:",
        "            try:",
        *indent(prologue or ["prev = None"], 16),
        "            except Exception as exc:",
        "                fail(cur, exc)",
        "                continue",
        *indent(blocks, 12),
        "    return run",
    ]
    matchers = (m for _, _, m in conditions if m is not None)
    return _source(lines, [EMPTY, *emitter.consts, *emitter.getters, *matchers])


def _slots(emitter: Emitter) -> list[str]:
    return [f"k{n}" for n in range(len(emitter.consts))]


def _getters(emitter: Emitter) -> list[str]:
    return [f"g{n}" for n in range(len(emitter.getters))]


def _params(names: list[str]) -> str:
    return ", ".join(names)


def _source(lines: list[str], values: list[Any]) -> Source:
    text = "\n".join(lines) + "\n"
    audit(text)
    return Source(text, tuple(values))


def audit(source: str) -> None:
    """Refuse source that holds a literal, a name outside the allowlist, or a call of anything but our sinks.

    This is the proof that compiling a rule cannot run code a rule file wrote: the generator never puts rule
    text in the source, and this check would stop it (an AssertionError, a bug of ours) if it ever did.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, token in enumerate(tokens):
        kind, text = token.type, token.string
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if kind == tokenize.OP and text in _OPERATORS:
            continue
        if kind == tokenize.NAME and (text in _ALLOWED or _NUMBERED.fullmatch(text)):
            called = tokens[index + 1].string == "(" and not keyword.iskeyword(text)
            defined = tokens[index - 1].string == "def"
            if not called or defined or text in _CALLABLE or _NUMBERED_CALLABLE.fullmatch(text):
                continue
        raise AssertionError(f"generated rule code failed its audit at {text!r} (line {token.start[0]})")
