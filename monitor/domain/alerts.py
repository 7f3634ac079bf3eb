"""Alerts: how bad (:class:`Severity`), where a rule stands for an entity (:class:`AlertState`), and what an
action a rule asked for became (:class:`Outcome`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from monitor.domain.levels import Level
from monitor.domain.values import EMPTY, MetricValue


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Outcome(enum.StrEnum):
    """What an action a rule asked for became."""

    DONE = "done"  # the action was carried out
    DRY_RUN = "dry run"  # what would have been done; nothing was sent (rule dry_run or actions disabled)
    SKIPPED = "skipped"  # a guard rail stopped it (reason says which)
    FAILED = "failed"  # the API refused it (reason says why)
    AWAITING = "awaiting approval"  # the rule has ``approve``: queued for a person (reason says how to approve)


@dataclass(frozen=True)
class AlertState:
    """Where one rule stands for one entity: the lifecycle's memory between polls.

    ``state`` is the lifecycle's own vocabulary (e.g. "pending", "firing", "resolved"): the store keeps it as text.
    ``values`` are the numbers the rule last saw (for messages and "no data" reasoning), ``None`` kept distinct.
    ``withheld``: the episode's firing was muted (a silence, the rule's active time): neither notified nor acted
    on yet; the first poll that finds it still firing and no longer muted notifies and acts then.
    """

    rule: str
    advertiser_id: str
    level: Level
    entity_id: str
    state: str
    since: datetime
    last_notified_at: datetime | None = None
    values: Mapping[str, MetricValue] = field(default_factory=lambda: EMPTY)
    withheld: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def key(self) -> tuple[str, Level, str]:
        return (self.rule, self.level, self.entity_id)
