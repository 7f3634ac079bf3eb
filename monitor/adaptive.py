"""Adaptive polling, the rules' half (pure): would a rule fire before the next scheduled poll?

After a poll, :func:`first_crossing` projects each entity's **spend** forward: its velocity is the change of
today's spend between the previous snapshot and this one, divided by the time between them (or, from the
pipeline, :func:`monitor.pace.paces`: faster for an entity whose pace rose in the last interval), and the spend of
every window that grows with the present (``today``, ``this_hour``, ``lifetime``) is moved on by that velocity
times the time ahead, plus ``margin`` (a share of the current spend: an entity *near* a threshold counts as about
to cross it even when it is not moving). The rules are evaluated on the projection by the same engine that
evaluates the poll (so any condition on spend works, whatever the rule's shape, and the rules language is not
touched); a finding the projection has and this poll has not is an entity about to cross. When it crosses is
found by bisecting the time ahead (a few evaluations of those entities only). Other metrics are not projected:
clicks or conversions near a threshold do not ask for an extra poll.

What to do with the answer (the floor between polls, at most two adaptive extra polls per interval, the API
budget) is
:func:`monitor.pollsoon.extra_poll_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, tzinfo
from types import MappingProxyType

from monitor.domain import EntityKey, EntityState, Snapshot
from monitor.pace import spend_in, velocities
from monitor.rules.engine import Finding, evaluate
from monitor.rules.model import Rule

__all__ = ["GROWING_WINDOWS", "MARGIN", "Cadence", "first_crossing", "project", "velocities"]

#: The windows whose spend grows as time passes (the others are complete days or hours).
GROWING_WINDOWS = ("today", "this_hour", "lifetime")
#: Near a threshold: spend within this share of it counts as about to cross.
MARGIN = 0.02
_FIELDS = tuple(f.name for f in fields(EntityState))


@dataclass(frozen=True, slots=True)
class Cadence:
    """What adaptive polling needs of the schedule: the poll interval and the least gap after a poll
    (``[monitor] interval`` and ``min_poll_gap``)."""

    interval: timedelta
    floor: timedelta


#: Bisection steps for the crossing time: the time ahead / 2**5, 2 s of a 60 s interval.
STEPS = 5


def project(
    current: Snapshot, speeds: Mapping[EntityKey, float], ahead: timedelta, margin: float, keys: Iterable[EntityKey]
) -> Snapshot:
    """The entities of ``keys`` (only those) with their spend ``ahead`` later (see the module docstring)."""
    seconds = ahead.total_seconds()
    entities = {}
    for key in keys:
        entity = current.entities[key]
        added = speeds.get(key, 0.0) * seconds
        metrics = dict(entity.metrics)
        for window in GROWING_WINDOWS:
            values = metrics.get(window)
            if values is None:
                continue
            spend = values.get("spend")
            if isinstance(spend, int | float) and not isinstance(spend, bool):
                metrics[window] = MappingProxyType({**values, "spend": spend + added + margin * abs(spend)})
        # the rest as it is, already frozen: replace() would freeze every window again (3x slower)
        moved = object.__new__(EntityState)
        for name in _FIELDS:
            object.__setattr__(moved, name, getattr(entity, name))
        object.__setattr__(moved, "metrics", MappingProxyType(metrics))
        entities[key] = moved
    return Snapshot(current.advertiser_id, current.poll_id, current.taken_at + ahead, entities)


def first_crossing(
    rules: Iterable[Rule],
    current: Snapshot,
    previous: Snapshot | None,
    now: datetime,
    ahead: timedelta,
    *,
    margin: float = MARGIN,
    zone: tzinfo | str | None = None,
    currency: str | None = None,
    found: Iterable[Finding] | None = None,
    speeds: Mapping[EntityKey, float] | None = None,
) -> datetime | None:
    """When the first entity whose spend is about to make a rule fire will have made it (``now`` at the
    earliest, within ``ahead``), or None when no rule would fire anew before then. ``found``: the findings of
    ``rules`` on ``current`` when the caller has them (the poll's evaluation), else they are evaluated here.
    ``speeds``: each entity's pace to project (spend per second, :func:`monitor.pace.paces`); by default the
    average pace since ``previous``."""
    if ahead <= timedelta(0):
        return None
    rules = tuple(rules)
    if speeds is None:
        speeds = velocities(current, previous)
    if found is None:
        found = evaluate(rules, current, previous, now, zone=zone, currency=currency).findings
    firing = {(f.rule.name, f.entity.key) for f in found}
    spending = [key for key, entity in current.entities.items() if (spend_in(entity, "today") or 0.0) > 0.0]

    def new_findings(after: timedelta, keys: Iterable[EntityKey]) -> set[EntityKey]:
        projected = project(current, speeds, after, margin, keys)
        found = evaluate(rules, projected, current, now + after, zone=zone, currency=currency).findings
        return {f.entity.key for f in found if (f.rule.name, f.entity.key) not in firing}

    crossing = new_findings(ahead, spending)  # an entity spending nothing today has no pace and no margin
    if not crossing:
        return None
    if new_findings(timedelta(0), crossing):
        return now  # near a threshold already (the margin)
    low, high = timedelta(0), ahead
    for _ in range(STEPS):
        middle = (low + high) / 2
        if new_findings(middle, crossing):
            high = middle
        else:
            low = middle
    return now + high
