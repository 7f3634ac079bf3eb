"""The values a rule's condition reads for one entity, by name, as the engine reads them. Pure.

:func:`read` follows :meth:`monitor.rules.reads.Reads.load`: a metric of a window (None when the window or
the metric is missing: "no data"), an entity field, ``budget_used`` (today's spend / a daily budget),
``projected_spend``, ``pace``, ``hour``, ``weekday``, ``day_elapsed`` and ``currency``; ``prev.x`` reads the
entity as the previous poll saw it (None when it was not there).
``tests/preview/test_explain.py`` checks that it agrees with the values of the engine's findings.
"""

from __future__ import annotations

from monitor.domain import EntityState, MetricValue
from monitor.domain.budget import DAILY_MODES
from monitor.domain.values import EMPTY
from monitor.rules.expr import Ref
from monitor.rules.model import Rule
from monitor.rules.pacing import LocalDay


def read(
    ref: Ref, current: EntityState, previous: EntityState | None, day: LocalDay, currency: str | None
) -> MetricValue:
    """What ``ref`` reads for the entity (``current``; ``previous``: at the previous poll, None if absent) on the
    advertiser's local ``day`` (:mod:`monitor.rules.pacing`), in its ``currency`` (None: unknown)."""
    if ref.kind == "time":
        if ref.key == "hour":
            return day.hour
        return day.weekday if ref.key == "weekday" else day.elapsed
    if ref.kind == "account":
        return currency
    owner = previous if ref.prev else current
    if owner is None:
        return None
    if ref.kind == "metric":
        assert ref.window is not None
        return owner.metrics.get(ref.window, EMPTY).get(ref.key)
    if ref.kind == "derived":
        return _derived(ref.key, owner, day.base)
    assert ref.attr is not None
    value: MetricValue = getattr(owner, ref.attr)
    return value


def _derived(key: str, owner: EntityState, base: float | None) -> MetricValue:
    """budget_used, projected_spend or pace (see monitor.rules.expr), None without the data for it."""
    spend = owner.metrics.get("today", EMPTY).get("spend")
    if not isinstance(spend, int | float) or isinstance(spend, bool):
        return None
    if key == "projected_spend":
        return spend / base if base else None
    if not owner.budget or owner.budget_mode not in DAILY_MODES:
        return None
    if key == "pace":
        return spend / (owner.budget * base) if base else None
    return float(spend) / owner.budget


def values_of(
    rule: Rule, current: EntityState, previous: EntityState | None, day: LocalDay, currency: str | None
) -> tuple[tuple[str, MetricValue], ...]:
    """Every value the rule's condition reads, in order of appearance: (("spend", 61.2), ("conversion", None))."""
    return tuple((ref.text, read(ref, current, previous, day, currency)) for ref in rule.when.refs)
