"""Guarded actions: pause, enable and budget changes, journaled before and after, verified, and reversible.

* :mod:`base`: the vocabulary (:class:`Planned`, :class:`Decision`, :class:`Taken`, :class:`GuardSettings`);
* :mod:`guard`: the guard rails, pure (:func:`decide`; :mod:`guard_conflicts`, :mod:`guard_budget` and
  :mod:`guard_breaker` are three of them); :mod:`budget`: TikTok's budget rules, pure;
* :mod:`facts`, :mod:`override`, :mod:`verify`: what the past says (journal facts, manual overrides, checks);
* :mod:`execute`: journal, API call, journal; :mod:`runner`: the poll's "act" step;
* :mod:`revert` and :mod:`history`: ``tiktok-monitor revert ID`` and ``tiktok-monitor history``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.actions.base import Decision, GuardSettings, Planned, Taken, Verdict, planned_from
from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.actions.guard import GuardContext, GuardResult, decide
    from monitor.actions.runner import ActionRunner, ActResult

# Loaded on first use: the runner talks to the API and the journal, so the guards load without them; the guards
# only when something is to be written (a poll whose rules only notify decides nothing).
__getattr__ = lazy_exports(
    __name__,
    {
        "ActionRunner": ".runner", "ActResult": ".runner",
        "GuardContext": ".guard", "GuardResult": ".guard", "decide": ".guard",
    },
)  # fmt: skip

__all__ = [
    "ActResult",
    "ActionRunner",
    "Decision",
    "GuardContext",
    "GuardResult",
    "GuardSettings",
    "Planned",
    "Taken",
    "Verdict",
    "decide",
    "planned_from",
]
