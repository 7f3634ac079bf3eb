"""The daemon's shared vocabulary: what the rules, the guards, the store and the messages all speak.

Pure values and names, with no I/O and no third-party imports, so any layer may depend on it and it depends on
none (see docs/architecture.md). Adapters (``tiktok/``, ``store/``, ``notify/``) convert to and from these types
at their edges.

Modules: ``levels`` (Level, LEVEL_ORDER), ``values`` (MetricValue, Metrics, freezing, aware times), ``ratios``
(a ratio metric over a zero count is no data), ``hourly`` (hourly windows' values),
``entities`` (EntityKey, EntityState, Snapshot), ``windows`` (report window names and their local dates),
``budget`` (budget modes), ``alerts`` (Severity, AlertState, action Outcome), ``holds`` (Hold: rules leave a field
of an entity alone), ``silences`` (Silence, Matcher: alerts that neither notify nor act for a while),
``approvals`` (Approval: a rule's action waiting for a person), ``breaker`` (BreakerEpisode: the actions' circuit
breaker), ``problems`` (OpsKind, OpsState: the monitor's own problems), ``account`` (Account, zone_or_utc).
"""

from __future__ import annotations

from monitor.domain.account import Account, zone_or_utc
from monitor.domain.alerts import AlertState, Outcome, Severity
from monitor.domain.breaker import BreakerEpisode
from monitor.domain.budget import BUDGET_MODES, DAILY_MODES, DAY, DYNAMIC_DAY, INFINITE, TOTAL
from monitor.domain.entities import (
    TRACKED_FIELDS,
    EntityFields,
    EntityKey,
    EntityState,
    Snapshot,
    moved_keys,
    sorted_states,
)
from monitor.domain.holds import Hold
from monitor.domain.levels import LEVEL_ORDER, Level
from monitor.domain.problems import OpsKind, OpsState
from monitor.domain.silences import Matcher, MatcherError, Silence
from monitor.domain.values import Metrics, MetricValue, aware, freeze, freeze_metrics
from monitor.domain.windows import DEFAULT_WINDOW, LAST_N_DAYS, WINDOWS, Window, window_dates

__all__ = [
    "BUDGET_MODES",
    "DAILY_MODES",
    "DAY",
    "DEFAULT_WINDOW",
    "DYNAMIC_DAY",
    "INFINITE",
    "LAST_N_DAYS",
    "LEVEL_ORDER",
    "TOTAL",
    "TRACKED_FIELDS",
    "WINDOWS",
    "Account",
    "AlertState",
    "BreakerEpisode",
    "EntityFields",
    "EntityKey",
    "EntityState",
    "Hold",
    "Level",
    "Matcher",
    "MatcherError",
    "MetricValue",
    "Metrics",
    "OpsKind",
    "OpsState",
    "Outcome",
    "Severity",
    "Silence",
    "Snapshot",
    "Window",
    "aware",
    "freeze",
    "freeze_metrics",
    "moved_keys",
    "sorted_states",
    "window_dates",
    "zone_or_utc",
]
