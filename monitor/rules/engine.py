"""Evaluating rules against one advertiser's snapshot. Pure: values and ``now`` in, findings out.

:func:`evaluate` runs every rule over the entities of its level that its ``match`` admits. For each entity the
condition is true (a :class:`Finding`, with the values it read and why), false, or *undecided*: the data to
decide was missing ("no data", never taken as zero). Undecided entity ids are listed per rule, so the lifecycle
can keep a firing alert firing through a gap in the data instead of announcing it resolved.

``hour``, ``weekday`` and ``day_elapsed`` are the advertiser's local time at ``now`` (``zone``; UTC when not
given; :mod:`monitor.rules.pacing`); ``currency`` is the advertiser's (None: unknown, so ``currency`` reads no
data and a rule scoped to ``currencies`` does not apply).
An exception while evaluating one entity (a value of an unexpected type) makes that entity undecided and is
counted in :attr:`Evaluation.errors`; it never stops the other entities or rules.

All rules of a level are compiled into one program (:func:`monitor.rules.program.compile_program`) that reads
each entity's values once and evaluates every rule on them: one pass over the entities per level.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from types import MappingProxyType

from monitor.domain import EntityKey, EntityState, Level, MetricValue, Snapshot
from monitor.rules.model import Rule
from monitor.rules.pacing import LocalDay, local_day
from monitor.rules.program import Program, compile_program

_ID = operator.attrgetter("id")

__all__ = ["Evaluation", "Finding", "evaluate", "explain", "local_time"]


class Finding:
    """A rule's condition is true for an entity: the values it read (None: no data) and a sentence why.

    Read-only. A large account yields tens of thousands of findings per poll, so the engine makes them with
    :meth:`of` (no dataclass machinery) and ``reason`` is only written for the findings that make a message.
    """

    __slots__ = ("_entity", "_reason", "_rule", "_values")

    def __init__(self, rule: Rule, entity: EntityState, values: Mapping[str, MetricValue]) -> None:
        self._rule = rule
        self._entity = entity
        self._values: Mapping[str, MetricValue] = MappingProxyType(dict(values))
        self._reason: str | None = None

    @classmethod
    def of(cls, rule: Rule, entity: EntityState, read: tuple[MetricValue, ...]) -> Finding:
        """The finding whose values are ``read``, in the order of ``rule.when.names``."""
        finding = cls.__new__(cls)
        finding._rule, finding._entity, finding._reason = rule, entity, None
        finding._values = MappingProxyType(dict(zip(rule.when.names, read, strict=True)))
        return finding

    @property
    def rule(self) -> Rule:
        return self._rule

    @property
    def entity(self) -> EntityState:
        return self._entity

    @property
    def values(self) -> Mapping[str, MetricValue]:
        """What the condition read, by name: {"spend": 612.5, "conversion": 0}."""
        return self._values

    @property
    def reason(self) -> str:
        """ "spend > 500 and conversion == 0: spend = 612.5, conversion = 0" (and "no data for x" when so)."""
        if self._reason is None:
            self._reason = explain(self.rule.when.text, self.values)[0]
        return self._reason

    @property
    def missing(self) -> tuple[str, ...]:
        """The names the condition read that had no data (it was true without them, e.g. in an ``or``)."""
        return tuple(name for name, value in self.values.items() if value is None)

    @property
    def key(self) -> tuple[str, Level, str]:
        """(rule, level, entity id): the key of the alert this finding feeds."""
        return (self.rule.name, self.entity.level, self.entity.id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return (self.rule, self.entity, self.values) == (other.rule, other.entity, other.values)

    __hash__ = None  # type: ignore[assignment]  # equal findings may hold unhashable values mappings

    def __repr__(self) -> str:
        return f"Finding(rule={self.rule.name!r}, entity={self.entity.key!r}, values={dict(self.values)!r})"


@dataclass(frozen=True)
class Evaluation:
    """Everything one evaluation found for one advertiser."""

    advertiser_id: str
    at: datetime
    snapshot: Snapshot
    findings: tuple[Finding, ...]
    by_rule: Mapping[str, Mapping[str, Finding]] = field(default_factory=lambda: MappingProxyType({}))
    undecided: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    errors: tuple[str, ...] = ()

    def finding(self, rule: str, entity_id: str) -> Finding | None:
        """The finding of ``rule`` (by name) for an entity of its level, if its condition held."""
        found = self.by_rule.get(rule)
        return None if found is None else found.get(entity_id)

    def is_undecided(self, rule: str, entity_id: str) -> bool:
        """Whether ``rule`` could not decide for the entity: the data it needs was missing."""
        return entity_id in self.undecided.get(rule, ())

    def undecided_count(self, rule: str) -> int:
        """How many entities ``rule`` could not decide (``len(undecided.get(rule, ()))``, without gathering them)."""
        undecided = self.undecided
        return undecided.count(rule) if type(undecided) is _Undecided else len(undecided.get(rule, ()))


class _Undecided(Mapping[str, frozenset[str]]):
    """:attr:`Evaluation.undecided`: each rule's set of entity ids made when first read. The lifecycle reads those
    of the rules that have alerts, the debug tallies count them: a rule whose data is missing for most of 100,000
    ads (no conversions yesterday, so no cost per conversion) need not have their ids gathered at every poll."""

    __slots__ = ("_entities", "_made")

    def __init__(self, entities: dict[str, list[EntityState]]) -> None:
        self._entities = entities
        self._made: dict[str, frozenset[str]] = {}

    def __getitem__(self, rule: str) -> frozenset[str]:
        made = self._made.get(rule)
        if made is None:
            made = self._made[rule] = frozenset(map(_ID, self._entities[rule]))
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._entities)

    def __len__(self) -> int:
        return len(self._entities)

    def count(self, rule: str) -> int:
        """How many entities ``rule`` could not decide: each is listed once (the program evaluates an entity once
        per rule and tells a rule's result, undecided or an error, at most once)."""
        return len(self._entities.get(rule, ()))

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def local_time(now: datetime, zone: tzinfo | str | None) -> tuple[int, str]:
    """(hour 0-23, weekday "mon".."sun") at ``now`` in ``zone`` (a name or tzinfo; unknown names mean UTC)."""
    day = local_day(now, zone)
    return day.hour, day.weekday


def evaluate(
    rules: Iterable[Rule],
    current: Snapshot,
    previous: Snapshot | None,
    now: datetime,
    *,
    zone: tzinfo | str | None = None,
    currency: str | None = None,
    moved: Collection[EntityKey] | None = None,
) -> Evaluation:
    """Evaluate ``rules`` over ``current``; ``previous`` (the poll before, or None) serves prev.x and changed().
    Rules with ``enabled = false``, and those whose match leaves out the advertiser or its currency, are left
    out.

    ``moved`` (optional): keys of ``current``'s entities that include each whose previous state is not its very
    state object (:func:`~monitor.domain.moved_keys` of the two snapshots' entities; more keys do no harm). Every
    other entity is then its own previous state, and the previous states are looked up among the moved ones only:
    a poll whose store found 85,000 of 100,000 ads unchanged looks up 15,000 (a dict that small stays in the
    processor's cache). The findings are the same as without it."""
    day = local_day(now, zone)
    before: Mapping[EntityKey, EntityState | None] = previous.entities if previous is not None else {}
    kept = False
    if previous is not None and moved is not None:  # the moved ones' previous states (None: appeared)
        before, kept = dict(zip(moved, map(before.get, moved), strict=True)), True
    rules = [rule for rule in rules if rule.applies_to(current.advertiser_id, currency)]
    results: dict[str, _Outcome] = {}
    for level in dict.fromkeys(rule.level for rule in rules):
        group = tuple(rule for rule in rules if rule.level is level)
        results.update(_run(group, current.of_level(level), before, kept, day, currency))
    findings: list[Finding] = []
    by_rule: dict[str, Mapping[str, Finding]] = {}
    undecided: dict[str, list[EntityState]] = {}
    errors: list[str] = []
    for rule in rules:
        outcome = results[rule.name]
        if outcome.hits:  # map() and zip() rather than a comprehension: this runs once per finding
            entities, reads = zip(*outcome.hits, strict=True)
            made = map(functools.partial(Finding.of, rule), entities, reads)
            found = dict(zip(map(_ID, entities), made, strict=True))
            findings += found.values()
            by_rule[rule.name] = MappingProxyType(found)
        if outcome.unknown:
            undecided[rule.name] = outcome.unknown
        if outcome.failed:
            count = outcome.failed
            errors.append(
                f"rule {rule.name!r}: {count} entit{'y' if count == 1 else 'ies'} undecided ({outcome.error})"
            )
    return Evaluation(
        advertiser_id=current.advertiser_id,
        at=now,
        snapshot=current,
        findings=tuple(findings),
        by_rule=MappingProxyType(by_rule),
        undecided=_Undecided(undecided),
        errors=tuple(errors),
    )


@dataclass
class _Outcome:
    hits: list[tuple[EntityState, tuple[MetricValue, ...]]] = field(default_factory=list)
    unknown: list[EntityState] = field(default_factory=list)
    failed: int = 0
    error: str = ""

    def fail(self, entity: EntityState, exc: Exception) -> None:
        """An entity the condition could not be evaluated for (a value of an unexpected type): undecided."""
        self.unknown.append(entity)
        self.failed += 1
        self.error = f"{type(exc).__name__}: {exc}"


def _run(
    rules: tuple[Rule, ...],
    entities: Sequence[EntityState],
    before: Mapping[EntityKey, EntityState | None],
    kept: bool,
    day: LocalDay,
    currency: str | None,
) -> dict[str, _Outcome]:
    """Every rule of one level over that level's entities, in one pass of one compiled program."""
    outcomes = [_Outcome() for _ in rules]
    sinks: list[Callable[..., None]] = []
    for outcome in outcomes:
        sinks += [outcome.hits.append, outcome.unknown.append, outcome.fail]

    def fail(entity: EntityState, exc: Exception) -> None:
        for outcome in outcomes:
            outcome.fail(entity, exc)

    _program(rules)(entities, before, kept, day.hour, day.weekday, day.elapsed, day.base, currency, fail, *sinks)
    return {rule.name: outcome for rule, outcome in zip(rules, outcomes, strict=True)}


@functools.lru_cache(maxsize=64)
def _program(rules: tuple[Rule, ...]) -> Program:
    """The compiled program of a group of rules (compiled once per rule set and level, then reused)."""
    return compile_program(
        [(rule.when.ir, rule.when.refs, None if rule.match.everything else rule.match.admits) for rule in rules]
    )


def explain(condition: str, values: Mapping[str, MetricValue]) -> tuple[str, tuple[str, ...]]:
    """ "spend > 500 and conversion == 0: spend = 612.5, conversion = 0" and the names that had no data."""
    shown = ", ".join(f"{name} = {show(value)}" for name, value in values.items() if value is not None)
    missing = tuple(name for name, value in values.items() if value is None)
    reason = f"{condition}: {shown}" if shown else condition
    if missing:
        reason += ("; " if shown else ": ") + f"no data for {', '.join(missing)}"
    return reason, missing


def show(value: MetricValue) -> str:
    """A value as a rule writes it: 612.5, 0, "AD_STATUS_AUDIT_DENY"; None is "no data"."""
    if value is None:
        return "no data"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
