"""Why a rule fires or not, per entity. Pure: (rule, snapshot, previous, alert states, holds, now) in.

:func:`explain_rule` evaluates one rule with the engine (:func:`monitor.rules.engine.evaluate`) and steps each
entity's alert with the lifecycle (:func:`monitor.rules.lifecycle.step`) exactly as a poll at ``now`` would,
without storing anything, and says for each entity of the rule's level in its scope:

* the values the condition reads, by name (:mod:`monitor.preview.values`);
* the result: true, false, or no data, naming the values that were missing;
* the alert's state after this evaluation and why: pending (k of N min), firing (since when; would notify now,
  or in cooldown until when), resolving, resolved; and for a rule with an action: held (a manual override or a
  revert, until when) or a dry run (the rule's ``dry_run``, ``[actions] enabled = false``, analyst access);
* muted: ``silenced_by(rule, entity)`` says what mutes its alert: a live silence or the rule's active time.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from monitor.actions.base import BUDGET, STATUS, STATUS_TARGET
from monitor.domain import AlertState, EntityState, Hold, Level, MetricValue, Snapshot
from monitor.domain.baseline import no_data_reason, parse_window
from monitor.preview.values import values_of
from monitor.rules.engine import evaluate
from monitor.rules.lifecycle import FIRING, PENDING, RESOLVED, RESOLVING, step
from monitor.rules.model import Rule
from monitor.rules.pacing import local_day

#: ``silenced_by(rule, entity)``: a description of the silence muting the rule for the entity, or None.
SilencedBy = Callable[[Rule, EntityState], str | None]

INACTIVE = "inactive"


class Result(enum.StrEnum):
    TRUE = "true"
    FALSE = "false"
    NO_DATA = "no data"


@dataclass(frozen=True)
class Explanation:
    """One entity: what the rule read, the result (``missing``: the values without data) and the alert's
    ``state`` after this evaluation, with the reasons (``why``)."""

    entity: EntityState
    values: tuple[tuple[str, MetricValue], ...]
    result: Result
    missing: tuple[str, ...]
    state: str
    why: tuple[str, ...]


def explain_rule(
    rule: Rule,
    current: Snapshot,
    previous: Snapshot | None,
    alerts: Mapping[tuple[str, Level, str], AlertState],
    holds: Iterable[Hold],
    now: datetime,
    *,
    zone: tzinfo | str | None = None,
    currency: str | None = None,
    entity_id: str | None = None,
    dry_run: str | None = None,
    silenced_by: SilencedBy | None = None,
) -> list[Explanation]:
    """One explanation per entity of ``rule``'s level in its scope (only ``entity_id`` when given), by id.
    ``alerts`` are the advertiser's stored alert states, ``holds`` its live holds; ``dry_run`` is why every
    action of the advertiser is a dry run (actions disabled, analyst access), if so. Empty when the rule does not
    apply to the advertiser."""
    if not rule.match.admits_advertiser(current.advertiser_id) or not rule.match.admits_currency(currency):
        return []
    day = local_day(now, zone)
    evaluation = evaluate([rule], current, previous, now, zone=zone, currency=currency)
    before = previous.entities if previous is not None else {}
    live = [h for h in holds if h.live(now)]
    out: list[Explanation] = []
    for entity in sorted(current.of_level(rule.level), key=lambda e: e.id):
        if (entity_id is not None and entity.id != entity_id) or not rule.match.admits(entity):
            continue
        values = values_of(rule, entity, before.get(entity.key), day, currency)
        missing = tuple(name for name, value in values if value is None)
        finding = evaluation.finding(rule.name, entity.id)
        undecided = evaluation.is_undecided(rule.name, entity.id)
        result = Result.TRUE if finding is not None else Result.NO_DATA if undecided else Result.FALSE
        stored = alerts.get((rule.name, entity.level, entity.id))
        alert, happened = step(rule, stored, finding, now, undecided=undecided, entity=entity)
        silence = silenced_by(rule, entity) if silenced_by is not None else None
        why = [_result_reason(rule, result, missing)]
        kinds, notify = [t.kind for t in happened], [t.notify for t in happened]
        why += _lifecycle(rule, alert, kinds, notify, now, undecided, muted=silence is not None)
        if rule.action is not None and alert is not None and alert.state == FIRING:
            why += _action(rule, entity, live, dry_run)
        if silence is not None:
            why.append(f"muted: {silence}")
        out.append(Explanation(entity, values, result, missing, alert.state if alert else INACTIVE, tuple(why)))
    return out


def _result_reason(rule: Rule, result: Result, missing: tuple[str, ...]) -> str:
    if result is Result.TRUE:
        return f"{rule.when.text} is true"
    if result is Result.NO_DATA:
        if not missing:
            return "could not be decided (a value of a wrong type)"
        weeks = [found[1] for r in rule.when.refs if r.text in missing and (found := parse_window(r.window or ""))]
        return f"no data for {', '.join(missing)}" + (f" ({no_data_reason(max(weeks))})" if weeks else "")
    return f"{rule.when.text} is false"


def _lifecycle(
    rule: Rule,
    alert: AlertState | None,
    kinds: list[str],
    notify: list[bool],
    now: datetime,
    undecided: bool,
    *,
    muted: bool = False,
) -> list[str]:
    """The alert's state after this evaluation, and why (see the module docstring); ``muted``: a silence or the
    rule's active time withholds its notices and actions (the caller says which)."""
    if alert is None:
        return []
    last = alert.last_notified_at
    quiet_until = last + rule.cooldown if last is not None else None
    if alert.state == PENDING:
        return [f"pending {_minutes(now - alert.since)} of {_minutes(rule.for_)} min"]
    if alert.state == FIRING:
        if FIRING in kinds and muted:
            return ["would fire now, withheld: no notice" + (", no action" if rule.action is not None else "")]
        if FIRING in kinds and not notify[kinds.index(FIRING)] and quiet_until is not None:
            return [f"would fire now, quietly: in cooldown until {_at(quiet_until)} (notified at {_at(last)})"]
        if FIRING in kinds:
            return ["would fire now: notify" + (" and act" if rule.action is not None else "")]
        if "repeat" in kinds:
            again = "its repeat is withheld" if muted else "notified again now"
            return [f"firing since {_at(alert.since)}; the cooldown is over: {again}"]
        cooldown = f"; in cooldown until {_at(quiet_until)}" if quiet_until is not None and now < quiet_until else ""
        gap = " (no data is not a recovery)" if undecided else ""
        return [f"firing since {_at(alert.since)}{gap}{cooldown}"]
    if alert.state == RESOLVING:
        if undecided:
            return ["resolving (no data is not a recovery)"]
        return ["resolving: resolved if still false at the next poll"]
    if alert.state == RESOLVED:
        if RESOLVED in kinds:
            told = notify[kinds.index(RESOLVED)]
            return ["resolves now" + (": withheld" if told and muted else ": notified" if told else "")]
        return (
            [f"resolved; remembered until {_at(quiet_until)} to recognise flapping (cooldown)"] if quiet_until else []
        )
    return []


def _action(rule: Rule, entity: EntityState, holds: list[Hold], dry_run: str | None) -> list[str]:
    """Why the rule's action would not write: a hold on its field, a dry run."""
    assert rule.action is not None
    field = STATUS if rule.action.type in STATUS_TARGET else BUDGET
    why = [f"held until {_at(h.until)}: {h.describe()}" for h in holds if h.key == entity.key and h.field == field]
    if rule.dry_run:
        why.append("dry run (the rule's dry_run = true)")
    elif dry_run is not None:
        why.append(f"dry run ({dry_run})")
    return why


def _minutes(delta: timedelta) -> str:
    """Whole minutes gone (``pending 3 of 15 min`` until the fourth minute is full)."""
    return str(int(delta.total_seconds() // 60))


def _at(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


__all__ = ["INACTIVE", "Explanation", "Result", "SilencedBy", "explain_rule"]
