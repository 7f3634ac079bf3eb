"""Guard 2 of :func:`monitor.actions.guard.decide`, pure: rules asking different things of one field of one entity
in one cycle (pause and enable, or two different budgets) are all skipped, and people are told; the same ask
twice is done once (by a rule that is not a dry run, if there is one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.actions import budget as rules
from monitor.actions.base import BUDGET, Decision, Planned, Verdict


def conflicts(
    plans: Sequence[Planned], asked: dict[int, Any], decisions: list[Decision | None], currency: str | None
) -> list[str]:
    """Skip plans that contradict each other on one field of one entity; return what to tell people."""
    groups: dict[tuple[Any, str], list[int]] = {}
    for i in asked:
        groups.setdefault((plans[i].key, plans[i].field), []).append(i)
    problems = []
    for (key, name), members in groups.items():
        if len(members) < 2:
            continue
        live = [i for i in members if not plans[i].dry_run]
        values = {_norm(asked[i], name, currency) for i in (live or members)}
        if len(values) > 1:
            what = ", ".join(f"{plans[i].who} asks {plans[i].type} ({_show(asked[i], name)})" for i in members)
            why = f"conflicting rules on {key[0].value} {key[1]}: {what}: none of them acted"
            problems.append(why)
            for i in members:
                decisions[i] = Decision(plans[i], Verdict.SKIP, why)
            continue
        first = (live or members)[0]
        for i in members:
            if i != first:
                same = _norm(asked[i], name, currency) == _norm(asked[first], name, currency)
                why = (
                    f"{plans[first].who} makes this change in this cycle"
                    if same
                    else (f"conflicts with {plans[first].who}, which acts")
                )
                decisions[i] = Decision(plans[i], Verdict.SKIP, why)
    return problems


def _norm(value: Any, name: str, currency: str | None) -> Any:
    return rules.round_money(float(value), currency) if name == BUDGET else value


def _show(value: Any, name: str) -> str:
    return f"{value:g}" if name == BUDGET else str(value)
