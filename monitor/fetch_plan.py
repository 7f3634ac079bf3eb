"""What a poll fetches for a rule set (:class:`~monitor.fetch.FetchPlan`): the default fields of each level the
rules look at, and per level only the windows and metrics some rule reads, plus what the budget actions' guards
need (:func:`monitor.actions.budget.spend_needs`)."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.actions.budget import spend_needs
from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan
from monitor.rules.model import Needs, RuleSet
from monitor.tiktok.models import DEFAULT_FIELDS

__all__ = ["fetch_plan", "ruleset_plan"]


def fetch_plan(needs: Needs, extra: Mapping[Level, Mapping[str, frozenset[str]]] | None = None) -> FetchPlan:
    """What a poll reads for the rules' needs: the default fields of each level the rules look at, and per
    level only the windows and metrics some rule reads, plus ``extra`` ones (what the action guards need)."""
    extra = extra or {}
    plans = {}
    for level in needs.levels | set(extra):
        windows = {window: set(metrics) for window, metrics in needs.windows(level).items()}
        for window, metrics in extra.get(level, {}).items():
            windows.setdefault(window, set()).update(metrics)
        plans[level] = LevelPlan(
            fields=DEFAULT_FIELDS.get(level, ()),
            windows={window: tuple(sorted(metrics)) for window, metrics in windows.items()},
        )
    return FetchPlan(plans)


def ruleset_plan(ruleset: RuleSet) -> FetchPlan:
    """The fetch plan of a rule set: what its conditions read and what its budget actions' guards need."""
    actions = [(rule.level, rule.action.type) for rule in ruleset if rule.action is not None]
    return fetch_plan(ruleset.needs(), spend_needs(actions))
