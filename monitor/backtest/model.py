"""What a backtest reports: the alerts that would have fired (:class:`Firing`) and what each action would have
done (:class:`WouldAct`), per advertiser, over the polls replayed (:class:`Report`). Values only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.domain import Level, MetricValue
from monitor.store.tiers import describe

#: What became of an action in a backtest (the guards' verdict: nothing is ever written).
WOULD_DO, DRY_RUN, BLOCKED = "would do", "dry run", "blocked"


@dataclass(frozen=True)
class WouldAct:
    """One action a firing asked for and what the guards decided: ``outcome`` is "would do" (the daemon would
    have written it), "dry run" (the rule, the kill switch) or "blocked" (``reason`` names the guard)."""

    advertiser_id: str
    at: datetime
    rule: str
    type: str  # pause | enable | scale_budget | set_budget
    level: Level
    entity_id: str
    entity_name: str | None
    outcome: str
    reason: str
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Firing:
    """One episode of one alert: from the poll its rule started firing (``fired_at``) to the poll it resolved
    (None: still firing at the end of the replay). ``notified``: its first notice went out (a quiet re-fire
    within the cooldown does not notify); ``repeats``: reminder notices after the cooldown."""

    advertiser_id: str
    rule: str
    severity: str
    level: Level
    entity_id: str
    entity_name: str | None
    fired_at: datetime
    values: Mapping[str, MetricValue]
    reason: str
    notified: bool
    resolved_at: datetime | None = None
    repeats: int = 0
    action: WouldAct | None = None


@dataclass
class Report:
    """Everything one backtest found, from ``since`` to ``until`` (the newest poll replayed)."""

    since: datetime
    first: datetime | None = None  # the oldest poll replayed (later than ``since`` when history was pruned)
    until: datetime | None = None
    advertisers: list[str] = field(default_factory=list)
    polls: int = 0
    firings: list[Firing] = field(default_factory=list)
    actions: list[WouldAct] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rule evaluation errors, "advertiser at: message"
    warnings: list[str] = field(default_factory=list)  # rules the stored history cannot decide
    #: The history's tiers replayed (monitor.store.tiers: 0 every poll, 1 hourly, 2 daily).
    tiers: set[int] = field(default_factory=set)

    @property
    def resolution(self) -> str:
        """Which resolution the replayed history had ("every poll", "one snapshot per day / ... per hour")."""
        return describe(self.tiers)
