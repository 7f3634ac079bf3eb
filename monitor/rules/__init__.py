"""Rules: the files users write, the ``when`` language, evaluation and the alert lifecycle. Pure: no I/O but
reading rule and test files, no clock reads (``now`` is a parameter), no database, no network.

The pipeline's view::

    ruleset = load_rules(settings.monitor.rules, channels=configured_channels(settings))   # at start / reload
    needs = ruleset.needs()                                   # which levels, windows and metrics to fetch
    evaluation = evaluate(ruleset, current, previous, now, zone=advertiser_zone)
    progress = advance(ruleset, alert_states, evaluation, now)  # -> states to write/delete, transitions

Modules: ``names`` (vocabulary), ``tokens``/``syntax`` (parsing), ``resolve``/``expr``/``ir``/``reads``/``codegen``
(checking and compiling ``when``), ``model`` (Rule, RuleSet, Action, Match), ``schema``/``channels``/``actionspec``/
``validation``/``loader`` (rule files), ``engine`` (findings), ``lifecycle`` (alert states and transitions),
``testfile``/``testing`` (test-rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports
from monitor.rules.engine import Evaluation, Finding, evaluate
from monitor.rules.expr import Condition, ExprError, compile_when
from monitor.rules.lifecycle import Progress, Transition, advance, step
from monitor.rules.loader import configured_channels, load_rules, summarize
from monitor.rules.model import Action, Match, Needs, NotifyTarget, Rule, RuleSet

if TYPE_CHECKING:
    from monitor.rules.testing import RuleTestReport, render_report, run_rule_tests

# test-rules' own modules (test files, the simulated polls): loaded on first use, not by every poll.
__getattr__ = lazy_exports(
    __name__, {"RuleTestReport": ".testing", "render_report": ".testing", "run_rule_tests": ".testing"}
)

__all__ = [
    "Action",
    "Condition",
    "Evaluation",
    "ExprError",
    "Finding",
    "Match",
    "Needs",
    "NotifyTarget",
    "Progress",
    "Rule",
    "RuleSet",
    "RuleTestReport",
    "Transition",
    "advance",
    "compile_when",
    "configured_channels",
    "evaluate",
    "load_rules",
    "render_report",
    "run_rule_tests",
    "step",
    "summarize",
]
