"""Random input: the parser never crashes, nothing is ever executed, and compiled code means what the book says."""

from __future__ import annotations

import sys
import threading

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rules_factories import T0, Context, entity, read, reference, snapshot

from monitor.domain import Level, moved_keys
from monitor.rules import ExprError, Rule, compile_when, evaluate
from monitor.rules.engine import local_time
from monitor.rules.names import FUNCTIONS, METRICS, SECONDARY_STATUSES, WEEKDAYS, WINDOWS
from monitor.rules.program import audit, compile_program, condition_source, program_source

# --- random text never crashes the parser ------------------------------------------------------------------

TOKENS = [
    *("spend", "clicks", "conversion", "name", "secondary_status", "hour", "weekday", "budget_used", "prev"),
    *("yesterday", "today", "lifetime", ".", "(", ")", "[", "]", ",", "and", "or", "not", "in", "true"),
    *("false", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "0", "1.5", "500", "'x'", '"mon"'),
    *("has", "changed", "delta", "abs", "min", "max", "=", "&&", "%", "__import__", "lambda", ":", "'", '"'),
    *('"AD_STATUS_AUDIT_DENY"', "1e", "_", "\\", "#", "True", "None", "\n", "\t"),
]
GRAMMARISH = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
ANY_TEXT = st.text(max_size=120)
CLOSE_TEXT = st.text(alphabet="abcdeilmnoprstuvwxyz_.()[]'\"<>=!+-*/ 0123456789,\\", max_size=80)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ANY_TEXT, GRAMMARISH, CLOSE_TEXT), st.sampled_from([*Level, None]))
def test_random_text_is_compiled_or_refused_with_a_message(text, level):
    try:
        condition = compile_when(text, level=level)
    except ExprError as exc:
        assert exc.problems
        for position, message in exc.problems:
            assert message and "\n" not in message
            assert position is None or 0 <= position <= len(text)
        return
    assert condition.text == text


# --- nothing is ever executed -------------------------------------------------------------------------------

_recording = threading.local()
_SEEN: list[tuple[str, tuple[object, ...]]] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if getattr(_recording, "on", False):
        _SEEN.append((event, args))


sys.addaudithook(_hook)  # audit hooks cannot be removed; this one only records while a test asks it to


def _events_during(work):
    _SEEN.clear()
    _recording.on = True
    try:
        work()
    except ExprError:
        pass
    finally:
        _recording.on = False
    return list(_SEEN)


def _check_events(events, text):
    for event, args in events:
        if event == "compile":  # our generated code, and only it
            source = args[0].decode() if isinstance(args[0], bytes) else args[0]
            assert isinstance(source, str) and args[1] == "<rules>", (event, args)
            audit(source)
        elif event == "exec":
            assert args[0].co_filename == "<rules>", (event, args)
        else:
            raise AssertionError(f"{text!r} caused the audit event {event} {args!r}")


DANGEROUS = [
    "__import__('os').system('touch /tmp/pwned')",
    "open('/etc/passwd')",
    "().__class__.__bases__[0].__subclasses__()",
    "spend.__class__",
    "lambda: 1",
    "eval('1')",
    "exec('import os')",
    "globals()",
    "name == '\\'); import os; os.system(\\'x\\') #'",
    'name == "__import__(\'os\')" or name == "{0.__class__}"',
    "[x for x in ()]",
    "spend if true else clicks",
    "x := 1",
    "f'{spend}'",
    "b'x' == name",
    "spend @ spend",
    "await spend",
    "yield spend",
]


def _load_and_compile(text):
    """What the daemon does with a ``when``: check it at load, compile it into its level's program at a poll."""
    condition = compile_when(text, level=Level.CAMPAIGN)
    compile_program([(condition.ir, condition.refs, None)])


@pytest.mark.parametrize("text", DANGEROUS)
def test_hostile_conditions_execute_nothing(text):
    events = _events_during(lambda: _load_and_compile(text))
    _check_events(events, text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(GRAMMARISH, CLOSE_TEXT))
def test_random_conditions_execute_nothing_but_their_audited_code(text):
    events = _events_during(lambda: _load_and_compile(text))
    _check_events(events, text)


def test_strings_from_a_rule_never_reach_the_generated_source():
    condition = compile_when(
        'name == "\'); import os #" or name in ["__import__", "x"] or spend > 123456', level=Level.CAMPAIGN
    )
    program = program_source([(condition.ir, condition.refs, None)])
    for source in (condition_source(condition.ir), program):
        assert "import" not in source.text and "123456" not in source.text
    for source in (condition_source(condition.ir), program):
        assert "'); import os #" in source.values and 123456 in source.values


@pytest.mark.parametrize(
    "source",
    [
        "def make():\n    return 'x'\n",
        "def make():\n    return 1\n",
        "def make(E):\n    return open\n",
        "def make(E):\n    return E.__class__\n",
        "def make(k0):\n    return k0()\n",
        "def make(v1):\n    return v1(1)\n",
        "import os\n",
        "def make(E):\n    return E[0]\n",
        "def make(E):  # a comment\n    return E\n",
    ],
)
def test_the_audit_refuses_anything_but_what_the_generator_writes(source):
    with pytest.raises(AssertionError, match="failed its audit"):
        audit(source)


# --- compiled code means what the book says ----------------------------------------------------------------

NUMBERS = st.one_of(st.integers(0, 1000), st.floats(0.01, 1000).map(lambda x: round(x, 2)))
NUMERIC_NAMES = [
    "spend", "clicks", "conversion", "cpc", "ctr", "yesterday.spend", "yesterday.cpc", "last_7d.spend",
    "prev.spend", "prev.conversion", "budget", "budget_used", "prev.budget", "hour", "delta(spend)",
    "delta(conversion)",
]  # fmt: skip
STATUSES = sorted(SECONDARY_STATUSES[Level.CAMPAIGN])[:6]


def numeric(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(NUMERIC_NAMES), NUMBERS.map(str))
    if depth == 0:
        return leaf
    inner = numeric(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"-{x}"),
        inner.map(lambda x: f"abs({x})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(inner, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


def condition(depth: int = 3) -> st.SearchStrategy[str]:
    comparison = st.tuples(numeric(2), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), numeric(2)).map(" ".join)
    strings = st.one_of(
        st.tuples(st.sampled_from(["secondary_status", "prev.secondary_status"]), st.sampled_from(["==", "!="]),
                  st.sampled_from(STATUSES).map(lambda s: f'"{s}"')).map(" ".join),
        st.tuples(st.sampled_from(["weekday"]), st.sampled_from(["in", "not in"]),
                  st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} {t[1]} [{', '.join(repr(d) for d in t[2])}]"),
        st.sampled_from(["has(conversion)", "has(prev.spend)", "changed(secondary_status)", "changed(conversion)",
                         "true", "false", 'name == "Summer"', "clicks in [0, 1, 2]", "conversion not in [0]"]),
    )  # fmt: skip
    leaf = st.one_of(comparison, strings)
    if depth == 0:
        return leaf
    inner = condition(depth - 1)
    return st.one_of(
        leaf,
        inner.map(lambda c: f"not ({c})"),
        st.tuples(st.sampled_from([" and ", " or "]), st.lists(inner, min_size=2, max_size=4)).map(
            lambda t: t[0].join(f"({c})" for c in t[1])
        ),
    )


def metrics() -> st.SearchStrategy[dict[str, object]]:
    value = st.one_of(st.none(), NUMBERS)
    names = st.sampled_from(["spend", "clicks", "conversion", "cpc", "ctr"])
    return st.dictionaries(names, value, max_size=5).map(lambda d: {k: v for k, v in d.items() if v is not None})


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[object, object]:
    def one() -> object:
        return entity(
            "campaign",
            "1800000000000001",
            name=draw(st.sampled_from(["Summer", "Winter", None])),
            secondary_status=draw(st.one_of(st.none(), st.sampled_from(STATUSES))),
            budget=draw(st.one_of(st.none(), st.just(0.0), NUMBERS.map(float))),
            budget_mode=draw(st.sampled_from(["BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL", None])),
            today=draw(metrics()),
            yesterday=draw(metrics()),
            last_7d=draw(metrics()),
        )

    cur = one()
    prev = draw(st.one_of(st.none(), st.builds(one)))
    return cur, prev


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(condition(), st.lists(campaigns(), min_size=1, max_size=3), st.sampled_from(["UTC", "Pacific/Auckland"]))
def test_compiled_conditions_agree_with_the_reference(text, pairs, zone):
    try:
        the_condition = compile_when(text, level=Level.CAMPAIGN)
    except ExprError:
        assume(False)  # e.g. a literal division by zero
        return
    the_rule = Rule(name="r", level=Level.CAMPAIGN, when=the_condition)
    hour, weekday = local_time(T0, zone)
    for cur, prev in pairs:
        ctx = Context(cur, prev, hour, weekday)
        expected = reference(the_condition.ir, ctx)
        evaluation = evaluate([the_rule], snapshot(cur), snapshot(prev) if prev else None, T0, zone=zone)
        engine = True if evaluation.findings else None if evaluation.is_undecided("r", cur.id) else False
        assert engine is expected, text
        assert not evaluation.errors
        if evaluation.findings:
            assert dict(evaluation.findings[0].values) == {ref.text: read(ref, ctx) for ref in the_condition.refs}


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(condition(2), min_size=2, max_size=6), st.lists(campaigns(), min_size=1, max_size=4))
def test_many_rules_in_one_program_agree_with_each_rule_alone(texts, pairs):
    rules = _campaign_rules(texts)
    entities = [entity("campaign", str(n), **_fields(cur)) for n, (cur, _) in enumerate(pairs)]
    previous = [entity("campaign", str(n), **_fields(prev)) for n, (_, prev) in enumerate(pairs) if prev]
    together = evaluate(rules, snapshot(*entities), snapshot(*previous), T0)
    for the_rule in rules:
        alone = evaluate([the_rule], snapshot(*entities), snapshot(*previous), T0)
        mine = [(f.entity.id, dict(f.values)) for f in together.findings if f.rule is the_rule]
        assert [(f.entity.id, dict(f.values)) for f in alone.findings] == mine
        assert alone.undecided.get(the_rule.name) == together.undecided.get(the_rule.name)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(condition(2), min_size=1, max_size=4),
    st.lists(st.tuples(campaigns(), st.booleans()), min_size=1, max_size=5),
    st.booleans(),
)
def test_rules_told_which_entities_moved_find_what_they_find_without(texts, pairs, more):
    """evaluate(..., moved=): the entities not moved are their own previous state (the store's comparison makes
    the new state stand for an unchanged one), and the findings, undecided and errors are the same."""
    rules = _campaign_rules(texts)
    entities, previous = [], []
    for n, ((cur, prev), unchanged) in enumerate(pairs):
        entities.append(entity("campaign", str(n), **_fields(cur)))
        if unchanged:  # the very state object in both snapshots
            previous.append(entities[-1])
        elif prev:
            previous.append(entity("campaign", str(n), **_fields(prev)))
    current, before = snapshot(*entities), snapshot(*previous, poll_id=0)
    moved = moved_keys(before.entities, current.entities)
    if more:  # more keys than moved (some of each kind), as the pipeline's after who changed what
        moved += [*list(current.entities)[:2], (Level.CAMPAIGN, "gone")]
    full = evaluate(rules, current, before, T0)
    assert evaluate(rules, current, before, T0, moved=moved) == full
    for the_rule in rules:  # counted without gathering the ids: each entity is listed once
        assert full.undecided_count(the_rule.name) == len(full.undecided.get(the_rule.name, ()))
    assert evaluate(rules, current, None, T0, moved=moved) == evaluate(rules, current, None, T0)


def _fields(state):
    return {
        "name": state.name,
        "secondary_status": state.secondary_status,
        "budget": state.budget,
        "budget_mode": state.budget_mode,
        **{window: dict(values) for window, values in state.metrics.items()},
    }


def test_the_vocabulary_is_consistent():
    assert set(WINDOWS) & set(METRICS) == set()
    assert set(FUNCTIONS) & set(METRICS) == set()


def _campaign_rules(texts: list[str]) -> list[Rule]:
    """A campaign rule ``r<n>`` for each text that compiles (the others are left out)."""
    rules = []
    for n, text in enumerate(texts):
        try:
            rules.append(Rule(name=f"r{n}", level=Level.CAMPAIGN, when=compile_when(text, level=Level.CAMPAIGN)))
        except ExprError:
            continue
    return rules
