"""Guarded actions: pause, enable and budget changes, journaled before and after, verified, and reversible.

* :mod:`base`: the vocabulary (:class:`Planned`, :class:`Decision`, :class:`Taken`, :class:`GuardSettings`);
* :mod:`guard`: the guard rails, pure (:func:`decide`); :mod:`budget`: TikTok's budget rules, pure;
* :mod:`facts`, :mod:`override`, :mod:`verify`: what the past says (journal facts, manual overrides, checks);
* :mod:`execute`: journal, API call, journal; :mod:`runner`: the poll's "act" step;
* :mod:`revert` and :mod:`history`: ``tiktok-monitor revert ID`` and ``tiktok-monitor history``.
"""

from __future__ import annotations

from monitor.actions.base import Decision, GuardSettings, Planned, Taken, Verdict, planned_from
from monitor.actions.guard import GuardContext, GuardResult, decide
from monitor.actions.runner import ActionRunner, ActResult, split_holds

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
    "split_holds",
]
