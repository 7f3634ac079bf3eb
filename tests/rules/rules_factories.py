"""Small builders for rule tests: entities, snapshots, rules, and a reference evaluator of the IR.

The reference evaluator is a plain tree walk of the checked IR with Kleene's three-valued logic spelt out,
independent of the generated code: tests compare it with the engine (the program the daemon compiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.domain import EntityState, Level, Snapshot
from monitor.domain.baseline import parse_window
from monitor.domain.budget import DAILY_MODES as DAILY_BUDGET_MODES
from monitor.domain.profile import PROFILE_WINDOW, projection
from monitor.rules import Rule, compile_when
from monitor.rules.engine import evaluate, local_time
from monitor.rules.ir import Const, Load, Op
from monitor.rules.pacing import local_day

ADVERTISER = "7000000000000000001"
#: 15:00 UTC: 10:00 on a Tuesday in New York.
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def entity(level: str = "campaign", id: str = "1", **fields: Any) -> EntityState:
    """An entity; window tables are keyword arguments: ``entity(today={"spend": 5}, name="x")``."""
    windows = {w: fields.pop(w) for w in list(fields) if w in _WINDOWS or parse_window(w) or w == PROFILE_WINDOW}
    fields.setdefault("advertiser_id", ADVERTISER)
    return EntityState(level=Level(level), id=id, metrics=windows, **fields)


_WINDOWS = ("today", "yesterday", "last_3d", "last_7d", "last_14d", "last_30d", "lifetime")


def snapshot(*entities: EntityState, at: datetime = T0, poll_id: int = 1, advertiser_id: str = ADVERTISER) -> Snapshot:
    return Snapshot(advertiser_id, poll_id, at, {e.key: e for e in entities})


def rule(when: str, level: str = "campaign", name: str = "r", window: str = "today", **kwargs: Any) -> Rule:
    """A rule with defaults: ``rule("spend > 5", for_=timedelta(minutes=15))``."""
    condition = compile_when(when, level=Level(level), window=window)
    return Rule(name=name, level=Level(level), when=condition, window=window, **kwargs)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def decide(
    when: str,
    cur: EntityState,
    prev: EntityState | None = None,
    *,
    level: str | None = None,
    at: datetime = T0,
    zone: str = "America/New_York",
    currency: str | None = "USD",
) -> bool | None:
    """What the engine decides for one entity (True / False / None), checked against the reference evaluator."""
    the_rule = rule(when, level=level or cur.level.value)
    previous = snapshot(prev) if prev else None
    evaluation = evaluate([the_rule], snapshot(cur, at=at), previous, at, zone=zone, currency=currency)
    engine = True if evaluation.findings else None if evaluation.is_undecided("r", cur.id) else False
    hour, weekday = local_time(at, zone)
    day = local_day(at, zone)
    walked = reference(the_rule.when.ir, Context(cur, prev, hour, weekday, day.elapsed, day.base, currency))
    assert engine is walked, (when, engine, walked)
    return engine


# --- reference evaluator -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What the reference evaluator reads for one entity: the entity now (``cur``) and at the previous poll
    (``prev``, None when it was not there), the advertiser's local ``hour``, ``weekday``, ``elapsed``
    (day_elapsed) and ``base`` (the share of the day's spend expected by now: None early), and its currency."""

    cur: Any
    prev: Any
    hour: int
    weekday: str
    elapsed: float = 0.0
    base: float | None = None
    currency: str | None = None


def reference(node: Any, ctx: Context) -> Any:
    """The meaning of a checked condition, by the book (see monitor.rules.expr)."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Load):
        return read(node.ref, ctx)
    op, args = node.op, node.args
    assert isinstance(node, Op)
    if op == "has":
        return read(args[0].ref, ctx) is not None
    if op in ("changed", "delta"):
        if ctx.prev is None:
            return None
        now, before = read(args[0].ref, ctx), read(args[1].ref, ctx)
        if op == "changed":
            return now != before
        return None if now is None or before is None else now - before
    values = [reference(arg, ctx) for arg in args]
    if op == "and":
        return False if any(v is False for v in values) else None if any(v is None for v in values) else True
    if op == "or":
        return True if any(v is True for v in values) else None if any(v is None for v in values) else False
    if any(v is None for v in values):
        return None
    a = values[0]
    b = values[1] if len(values) > 1 else None
    match op:
        case "not":
            return not a
        case "neg":
            return -a
        case "abs":
            return a if a >= 0 else -a
        case "min" | "max":
            best = a
            for v in values[1:]:
                best = best if (best <= v if op == "min" else best >= v) else v
            return best
        case "+":
            return a + b
        case "-":
            return a - b
        case "*":
            return a * b
        case "/":
            return None if b == 0 else a / b
        case "in":
            return a in b
        case "not in":
            return a not in b
        case "==":
            return a == b
        case "!=":
            return a != b
        case "<":
            return a < b
        case "<=":
            return a <= b
        case ">":
            return a > b
        case ">=":
            return a >= b
    raise AssertionError(op)


def read(ref: Any, ctx: Context) -> Any:
    if ref.kind == "time":
        return {"hour": ctx.hour, "weekday": ctx.weekday, "day_elapsed": ctx.elapsed}[ref.key]
    if ref.kind == "account":
        return ctx.currency
    e = ctx.prev if ref.prev else ctx.cur
    if e is None:
        return None
    if ref.kind == "metric":
        return e.metrics.get(ref.window, {}).get(ref.key)
    if ref.kind == "field":
        return getattr(e, ref.attr)
    spend = e.metrics.get("today", {}).get("spend")
    if spend is None:
        return None
    if ref.key == "projected_spend":  # over the hourly profile's share if any, else linear; none too early
        return projection(spend, ctx.base, e.metrics.get(PROFILE_WINDOW, {}).get("spend"))
    if not e.budget or e.budget_mode not in DAILY_BUDGET_MODES:
        return None
    if ref.key == "pace":  # budget used over the share of the day gone
        return None if not ctx.base else (spend / e.budget) / ctx.base
    assert ref.key == "budget_used"
    return spend / e.budget
