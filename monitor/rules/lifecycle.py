"""The alert lifecycle: per (rule, entity), what one more evaluation changes, and what to tell or do. Pure.

States (``AlertState.state``; "inactive" is the absence of a stored state), and what one poll does to them::

    state       condition true                      condition false                   undecided (no data)
    ---------   ---------------------------------   -------------------------------   -------------------
    inactive    firing (for = 0), else pending      -                                 -
    pending     firing once held for `for`          inactive (*)                      inactive (*)
    firing      firing; "repeat" after cooldown     resolving                         firing
    resolving   firing (a one-poll blip)            resolved                          resolving
    resolved    firing or pending, as inactive      forgotten (**)                    forgotten (**)

    (*)  or resolved, when the last notice is younger than the cooldown: flapping must stay recognisable
    (**) once the last notice is older than the cooldown; until then it stays resolved

Transitions and what they cause:

* ``pending``: informational only.
* ``firing``: notify, and run the rule's action (once per episode). If the alert was notified less than
  ``cooldown`` ago (it resolved and came straight back: flapping), it fires *quietly*: no message, but the action
  still runs (guard rails in ``actions/`` stop flip-flopping writes). A quiet episode still firing once the
  cooldown has passed is announced then (kind ``firing``, no action).
* ``repeat``: a firing alert is notified again once ``cooldown`` has passed since the last notice.
* ``resolved``: the condition was false at two polls in a row (a one-poll blip is not a recovery). Notified when
  the rule sets ``notify_resolved`` and the episode was announced; a quiet episode resolves quietly.

Muted alerts (a live silence matches them, or their rule is outside its active time: :mod:`monitor.rules.mute`)
keep this lifecycle but neither notify nor act. A firing that is muted is *withheld* (``AlertState.withheld``):
its transition is still reported (notify and act False, the reason says what muted it), and the first poll that
finds the alert still firing and no longer muted delivers it: notified (as a firing, quietly when flapping) and
acted on. A repeat or a resolved notice that falls in a mute is dropped; an episode whose firing was never
announced resolves without a notice, as a quiet one does.

Missing data is not a recovery: while the condition is *undecided* (no data), a firing or resolving alert stays
as it is, and a pending one starts over. A resolved alert is kept for ``cooldown`` after its last notice, so that
coming back is recognised as flapping; then it is forgotten. Together: however an entity flaps, "firing" and
"repeat" notices are at least ``cooldown`` apart, and each is followed by at most one "resolved" notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.domain import LEVEL_ORDER, AlertState, EntityState, Level
from monitor.rules.engine import Evaluation, Finding
from monitor.rules.model import Rule
from monitor.rules.mute import Muting

PENDING, FIRING, RESOLVING, RESOLVED = "pending", "firing", "resolving", "resolved"
#: States of an alert that is firing: resolving is false at one poll, not resolved yet.
FIRING_STATES = frozenset({FIRING, RESOLVING})
AlertKey = tuple[str, Level, str]


@dataclass(frozen=True)
class Transition:
    """Something that happened to one alert at one poll. ``notify``: send a message; ``act``: run the action."""

    kind: str  # "pending" | "firing" | "repeat" | "resolved"
    rule: Rule
    alert: AlertState  # the alert after the transition
    at: datetime
    notify: bool
    act: bool
    reason: str
    finding: Finding | None = None  # what the rule saw (None when resolved)
    entity: EntityState | None = None  # the entity as this poll saw it (None: no longer returned)


@dataclass(frozen=True)
class Progress:
    """The lifecycle's answer for one advertiser: states to write, states to delete, and transitions."""

    states: tuple[AlertState, ...]
    removed: tuple[AlertKey, ...]
    transitions: tuple[Transition, ...]

    @property
    def notifications(self) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.notify)

    @property
    def actions(self) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.act and t.rule.action is not None)


def step(
    rule: Rule,
    previous: AlertState | None,
    finding: Finding | None,
    now: datetime,
    *,
    undecided: bool = False,
    entity: EntityState | None = None,
    muted: str | None = None,
) -> tuple[AlertState | None, list[Transition]]:
    """One evaluation of one (rule, entity): ``finding`` when the condition held, else None; ``undecided`` when
    it could not be decided for lack of data; ``muted`` why it may neither notify nor act now (None: it may).
    Returns the new state (None: inactive, forget it) and transitions.
    """
    entity = entity if entity is not None else finding.entity if finding is not None else None
    state = previous.state if previous is not None else None
    if finding is not None:
        if state in (FIRING, RESOLVING):
            assert previous is not None
            return _still_firing(rule, previous, finding, now, entity, muted)
        since = previous.since if previous is not None and state == PENDING else now
        last = previous.last_notified_at if previous is not None else None
        if now - since >= rule.for_:
            return _fire(rule, finding, last, now, entity, muted)
        alert = _alert(finding, PENDING, since, last)
        if state == PENDING:
            return alert, []
        return alert, [Transition(PENDING, rule, alert, now, False, False, finding.reason, finding, entity)]
    if previous is None:
        return None, []
    if state == PENDING:
        return _rest(rule, previous, now), []
    if undecided and state in (FIRING, RESOLVING):
        return previous, []  # no data is not a recovery
    if state == FIRING:
        return _replace(previous, state=RESOLVING), []
    if state == RESOLVING:
        alert = replace(previous, state=RESOLVED, since=now, withheld=False)
        notify = rule.notify_resolved and _announced(previous) and muted is None
        why = "no longer returned by the API" if entity is None else f"{rule.when.text} is no longer true"
        if muted is not None:
            why += f" ({muted}: not notified)"
        return alert, [Transition(RESOLVED, rule, alert, now, notify, False, why, None, entity)]
    return _rest(rule, previous, now), []


def _fire(
    rule: Rule,
    finding: Finding,
    last: datetime | None,
    now: datetime,
    entity: EntityState | None,
    muted: str | None,
    since: datetime | None = None,
) -> tuple[AlertState, list[Transition]]:
    """The episode starts firing (``since``: it started earlier, withheld until now)."""
    since = now if since is None else since
    if muted is not None:  # withheld: neither notified nor acted on, delivered once no longer muted
        alert = _alert(finding, FIRING, since, last, withheld=True)
        reason = f"{finding.reason} ({muted}: not notified, no action)"
        return alert, [Transition(FIRING, rule, alert, now, False, False, reason, finding, entity)]
    quiet = last is not None and now - last < rule.cooldown
    alert = _alert(finding, FIRING, since, last if quiet else now)
    reason = finding.reason
    if quiet and last is not None:
        reason += f" (back within the cooldown of the notice at {last.isoformat()}: not notified again)"
    if since < now:
        reason += f" (firing since {since.isoformat()}, muted until now)"
    return alert, [Transition(FIRING, rule, alert, now, not quiet, True, reason, finding, entity)]


def _still_firing(
    rule: Rule, previous: AlertState, finding: Finding, now: datetime, entity: EntityState | None, muted: str | None
) -> tuple[AlertState, list[Transition]]:
    last = previous.last_notified_at
    if previous.withheld:
        if muted is not None:
            return _alert(finding, FIRING, previous.since, last, withheld=True), []
        return _fire(rule, finding, last, now, entity, None, since=previous.since)
    if muted is not None or (last is not None and now - last < rule.cooldown):
        return _alert(finding, FIRING, previous.since, last), []  # a muted repeat is dropped
    alert = _alert(finding, FIRING, previous.since, now)
    kind = "repeat" if _announced(previous) else FIRING  # a quiet episode is announced once the cooldown is over
    return alert, [Transition(kind, rule, alert, now, True, False, finding.reason, finding, entity)]


def _announced(alert: AlertState) -> bool:
    """Whether the current episode (since ``alert.since``) was notified: a quiet re-fire was not."""
    return alert.last_notified_at is not None and alert.last_notified_at >= alert.since


def _rest(rule: Rule, previous: AlertState, now: datetime) -> AlertState | None:
    """Not holding, not firing: remember a recent notice (to recognise flapping), else forget the alert."""
    last = previous.last_notified_at
    if last is None or now - last >= rule.cooldown:
        return None
    return previous if previous.state == RESOLVED else _replace(previous, state=RESOLVED, since=now)


def _alert(
    finding: Finding, state: str, since: datetime, last: datetime | None, *, withheld: bool = False
) -> AlertState:
    entity = finding.entity
    return AlertState(
        rule=finding.rule.name,
        advertiser_id=entity.advertiser_id,
        level=entity.level,
        entity_id=entity.id,
        state=state,
        since=since,
        last_notified_at=last,
        values=finding.values,
        withheld=withheld,
    )


def _replace(alert: AlertState, *, state: str, since: datetime | None = None) -> AlertState:
    return replace(alert, state=state, since=alert.since if since is None else since)


def advance(
    rules: Iterable[Rule],
    states: Mapping[AlertKey, AlertState],
    evaluation: Evaluation,
    now: datetime,
    mute: Muting | None = None,
) -> Progress:
    """Step every alert of one advertiser: each finding, and each stored state (its entity may be gone).

    ``states`` are the stored alert states of ``evaluation.advertiser_id``, keyed (rule, level, entity id).
    States of rules no longer loaded (or disabled) are removed without a message. ``mute`` says which alerts may
    neither notify nor act (None: silences aside, the rules' active times read in UTC).
    """
    mute = mute if mute is not None else Muting.of(evaluation.advertiser_id, now)
    rules = [rule for rule in rules if rule.enabled]
    loaded = {rule.name for rule in rules}
    stored: dict[str, set[tuple[Level, str]]] = {}
    removed: list[AlertKey] = []
    for key, state in states.items():
        if state.rule in loaded:
            stored.setdefault(state.rule, set()).add((state.level, state.entity_id))
        else:
            removed.append(key)
    written: list[AlertState] = []
    transitions: list[Transition] = []
    entities = evaluation.snapshot.entities
    found: dict[str, set[tuple[Level, str]]] = {}
    for hit in evaluation.findings:
        found.setdefault(hit.rule.name, set()).add(hit.entity.key)
    for rule in rules:
        keys = stored.get(rule.name, set()) | found.get(rule.name, set())
        for level, entity_id in sorted(keys, key=lambda k: (LEVEL_ORDER[k[0]], k[1])):
            previous = states.get((rule.name, level, entity_id))
            finding = evaluation.finding(rule.name, entity_id)
            undecided = evaluation.is_undecided(rule.name, entity_id)
            entity = entities.get((level, entity_id))
            muted = mute.reason(rule, level, entity_id, entity)
            alert, happened = step(rule, previous, finding, now, undecided=undecided, entity=entity, muted=muted)
            transitions.extend(happened)
            if alert is None and previous is not None:
                removed.append((rule.name, level, entity_id))
            elif alert is not None and alert != previous:
                written.append(alert)
    return Progress(tuple(written), tuple(removed), tuple(transitions))


def firing_counts(
    rules: Iterable[Rule], before: Mapping[AlertKey, AlertState], progress: Progress
) -> dict[tuple[str, str], int]:
    """How many alerts of one advertiser fire after a poll, by (rule, severity): the stored states ``before`` it,
    with what ``progress`` wrote and removed. Every loaded rule is counted, with 0 when none fires."""
    after = dict(before)
    for key in progress.removed:
        after.pop(key, None)
    after.update((state.key, state) for state in progress.states)
    counts = {(rule.name, rule.severity.value): 0 for rule in rules}
    severity = {rule.name: rule.severity.value for rule in rules}
    for state in after.values():
        if state.state in FIRING_STATES and state.rule in severity:
            counts[(state.rule, severity[state.rule])] += 1
    return counts
