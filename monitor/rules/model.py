"""Rules as the rest of the daemon sees them: frozen values built by the loader from rule files.

A :class:`Rule` holds its compiled condition; a :class:`RuleSet` is every rule loaded, and tells the poll what
to fetch (:meth:`RuleSet.needs`): which levels, and which metrics in which windows, so a poll asks TikTok for
nothing no rule reads.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from monitor.domain import LEVEL_ORDER, EntityState, Level, Severity
from monitor.domain.baseline import parse_window
from monitor.domain.profile import PROFILE_WEEKS, reads_history
from monitor.rules.active import ActiveTime
from monitor.rules.expr import Condition

DEFAULT_COOLDOWN = timedelta(hours=4)


@dataclass(frozen=True)
class NotifyTarget:
    """Where a rule's messages go: a configured channel, optionally with a target ("slack:#other")."""

    channel: str
    target: str | None = None

    def __str__(self) -> str:
        return self.channel if self.target is None else f"{self.channel}:{self.target}"


ACTION_TYPES = ("pause", "enable", "scale_budget", "set_budget")


@dataclass(frozen=True)
class Action:
    """What a rule does when it starts firing.

    ``pause`` / ``enable`` set operation_status; ``scale_budget`` multiplies the budget by ``1 + by/100``
    (``by`` = +20 for "+20%") and keeps it within ``min``/``max`` when given; ``set_budget`` sets it ``to``.
    """

    type: str
    by: float | None = None
    to: float | None = None
    min: float | None = None
    max: float | None = None

    def summary(self) -> str:
        if self.type == "scale_budget":
            bounds = [f"{k} {_number(v)}" for k, v in (("min", self.min), ("max", self.max)) if v is not None]
            return f"scale_budget {self.by:+g}%" + (f" ({', '.join(bounds)})" if bounds else "")
        if self.type == "set_budget":
            return f"set_budget {_number(self.to)}"
        return self.type

    def target_budget(self, current: float | None) -> float | None:
        """The budget this action asks for, given the current one (None: it cannot be computed)."""
        if self.type == "set_budget":
            return self.to
        if self.type != "scale_budget" or current is None or self.by is None:
            return None
        budget = current * (1 + self.by / 100)
        if self.max is not None:
            budget = min(budget, self.max)
        if self.min is not None:
            budget = max(budget, self.min)
        return round(budget, 2)


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Match:
    """A rule's scope beyond its level. Empty fields admit everything; ``names`` are globs (case-sensitive);
    ``currencies`` the advertisers' currencies (ISO 4217 codes)."""

    advertiser_ids: frozenset[str] | None = None
    campaign_ids: frozenset[str] | None = None
    ids: frozenset[str] | None = None
    names: tuple[str, ...] = ()
    currencies: frozenset[str] | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.names:
            pattern = re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in self.names))
            object.__setattr__(self, "_pattern", pattern)

    @property
    def everything(self) -> bool:
        return self.campaign_ids is None and self.ids is None and not self.names

    def admits_advertiser(self, advertiser_id: str) -> bool:
        return self.advertiser_ids is None or advertiser_id in self.advertiser_ids

    def admits_currency(self, currency: str | None) -> bool:
        """Whether an advertiser of ``currency`` is in scope; an unknown currency is not, when currencies are
        given (a threshold meant for one currency is never applied to money of another)."""
        return self.currencies is None or currency in self.currencies

    def admits(self, entity: EntityState) -> bool:
        """Whether the entity is in scope (the advertiser is checked separately, once per snapshot)."""
        if self.ids is not None and entity.id not in self.ids:
            return False
        if self.campaign_ids is not None:
            campaign = entity.id if entity.level is Level.CAMPAIGN else entity.campaign_id
            if campaign not in self.campaign_ids:
                return False
        if self._pattern is not None:
            return entity.name is not None and self._pattern.fullmatch(entity.name) is not None
        return True


@dataclass(frozen=True, eq=False)
class Rule:
    """One ``[[rule]]``. ``for_`` is the TOML key ``for``; ``source`` is "file:line" of its ``[[rule]]``.

    ``enabled`` False: loaded and checked, never evaluated (its alerts are forgotten). ``active``: when it may
    notify and act, in the advertiser's time zone (None: always; see :mod:`monitor.rules.active`). ``approve``:
    how long its action waits for a person to approve it (``approve = true`` / ``approve_within``; None: it acts
    at once; see :mod:`monitor.domain.approvals`).
    """

    name: str
    level: Level
    when: Condition
    window: str = "today"
    for_: timedelta = timedelta(0)
    cooldown: timedelta = DEFAULT_COOLDOWN
    severity: Severity = Severity.WARNING
    notify: tuple[NotifyTarget, ...] = ()
    notify_resolved: bool = False
    action: Action | None = None
    dry_run: bool = False
    match: Match = field(default_factory=Match)
    description: str = ""
    source: str | None = None
    enabled: bool = True
    active: ActiveTime | None = None
    approve: timedelta | None = None

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.level.value}, {self.when.text!r})"

    def applies_to(self, advertiser_id: str, currency: str | None) -> bool:
        """Whether the rule is evaluated for the advertiser: enabled, and its match admits the advertiser's id and
        currency (what decides both evaluation and what a poll of the advertiser fetches for the rule)."""
        return self.enabled and self.match.admits_advertiser(advertiser_id) and self.match.admits_currency(currency)


@dataclass(frozen=True)
class Needs:
    """What one poll must fetch for the loaded rules: the levels, and per level the metrics of each window."""

    levels: frozenset[Level]
    metrics: Mapping[Level, Mapping[str, frozenset[str]]]

    def windows(self, level: Level) -> Mapping[str, frozenset[str]]:
        """Window -> metric names to request for ``level`` (empty: entities only, no report)."""
        return self.metrics.get(level, MappingProxyType({}))

    def __str__(self) -> str:
        parts = []
        for level in sorted(self.levels, key=LEVEL_ORDER.__getitem__):
            windows = self.windows(level)
            reads = "; ".join(f"{w}[{', '.join(sorted(m))}]" for w, m in sorted(windows.items())) or "fields only"
            parts.append(f"{level.value}: {reads}")
        return " | ".join(parts) or "nothing"


class RuleSet:
    """Every loaded rule, in file order. Iterable; ``len()`` counts rules; ``files`` lists the files read."""

    def __init__(self, rules: tuple[Rule, ...] | list[Rule], files: tuple[str, ...] = ()) -> None:
        self.rules = tuple(rules)
        self.files = tuple(files)
        self._by_name = {rule.name: rule for rule in self.rules}
        if len(self._by_name) != len(self.rules):
            raise ValueError("rule names must be unique")

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def enabled(self) -> RuleSet:
        """The rules that are evaluated (``enabled = false`` ones left out), from the same files."""
        if all(rule.enabled for rule in self.rules):
            return self
        return RuleSet(tuple(rule for rule in self.rules if rule.enabled), self.files)

    def applying_to(self, advertiser_id: str, currency: str | None) -> RuleSet:
        """The rules evaluated for the advertiser (:meth:`Rule.applies_to`), from the same files: what a poll of
        it fetches for (a rule whose ``[rule.match]`` leaves the advertiser out costs it no call)."""
        if all(rule.applies_to(advertiser_id, currency) for rule in self.rules):
            return self
        return RuleSet(tuple(rule for rule in self.rules if rule.applies_to(advertiser_id, currency)), self.files)

    def of_level(self, level: Level) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.level is level)

    def previous_metric_levels(self) -> frozenset[Level]:
        """The levels whose previous poll's metrics an enabled rule reads: ``prev.x``, ``changed(x)`` or
        ``delta(x)`` of a metric or of a value worked out from metrics (``prev.operation_status`` reads a field,
        not metrics). A poll keeps those parsed after comparing (monitor.store.poll_changes)."""
        return frozenset(
            rule.level
            for rule in self.rules
            if rule.enabled and any(ref.prev and ref.kind in ("metric", "derived") for ref in rule.when.refs)
        )

    def baseline_weeks(self) -> int:
        """The longest ``weeks`` any enabled rule's baseline() or stddev() reads; 0 when none does (how much stored
        hourly history the maintenance job keeps: monitor.domain.baseline.keep_days); a projected_spend counts as the
        weeks its hourly profile reads (monitor.domain.profile)."""
        weeks = [
            parsed[1] if (parsed := parse_window(window)) is not None else PROFILE_WEEKS
            for rule in self.rules
            if rule.enabled
            for window, _ in rule.when.metrics()
            if reads_history(window)
        ]
        return max(weeks, default=0)

    def needs(self) -> Needs:
        """The levels and (window, metric) pairs the rules read, so a poll fetches only those."""
        metrics: dict[Level, dict[str, set[str]]] = {}
        for rule in self.rules:
            if not rule.enabled:
                continue  # never evaluated: nothing to fetch for it
            windows = metrics.setdefault(rule.level, {})
            for window, metric in rule.when.metrics():
                windows.setdefault(window, set()).add(metric)
        frozen = {
            level: MappingProxyType({w: frozenset(m) for w, m in windows.items()}) for level, windows in metrics.items()
        }
        return Needs(frozenset(metrics), MappingProxyType(frozen))
