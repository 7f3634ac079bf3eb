"""The values a rule's condition reads for one entity, by name, as the engine reads them. Pure.

:func:`read` follows :meth:`monitor.rules.codegen.Emitter.load`: a metric of a window (None when the window or
the metric is missing: "no data"), an entity field, ``budget_used`` (today's spend / a daily budget), ``hour`` and
``weekday``; ``prev.x`` reads the entity as the previous poll saw it (None when it was not there).
``tests/preview/test_explain.py`` checks that it agrees with the values of the engine's findings.
"""

from __future__ import annotations

from monitor.domain import EntityState, MetricValue
from monitor.domain.budget import DAILY_MODES
from monitor.domain.values import EMPTY
from monitor.rules.expr import Ref
from monitor.rules.model import Rule


def read(ref: Ref, current: EntityState, previous: EntityState | None, hour: int, weekday: str) -> MetricValue:
    """What ``ref`` reads for the entity (``current``; ``previous``: at the previous poll, None if absent)."""
    if ref.kind == "time":
        return hour if ref.key == "hour" else weekday
    owner = previous if ref.prev else current
    if owner is None:
        return None
    if ref.kind == "metric":
        assert ref.window is not None
        return owner.metrics.get(ref.window, EMPTY).get(ref.key)
    if ref.kind == "derived":  # budget_used
        spend = owner.metrics.get("today", EMPTY).get("spend")
        if not owner.budget or owner.budget_mode not in DAILY_MODES or spend is None:
            return None
        return float(spend) / owner.budget if isinstance(spend, int | float) else None
    assert ref.attr is not None
    value: MetricValue = getattr(owner, ref.attr)
    return value


def values_of(
    rule: Rule, current: EntityState, previous: EntityState | None, hour: int, weekday: str
) -> tuple[tuple[str, MetricValue], ...]:
    """Every value the rule's condition reads, in order of appearance: (("spend", 61.2), ("conversion", None))."""
    return tuple((ref.text, read(ref, current, previous, hour, weekday)) for ref in rule.when.refs)
