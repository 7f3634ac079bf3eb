"""Grouping: when one poll fires a rule for many entities, one message per (advertiser, rule, kind), not a flood.

The message lists the ``limit`` worst entities and says how many more there are. "Worst" is by the rule's first
metric (``RuleInfo.sort_by``, else the first value of the entities), highest first (``worst = "lowest"`` for rules
like ``ctr < 0.5``); entities whose value is missing ("no data") or not a number come last; ties by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from monitor.notify.message import AlertEntity, AlertMessage

DEFAULT_LIMIT = 5


def group_alerts(alerts: Iterable[AlertMessage], *, limit: int = DEFAULT_LIMIT) -> list[AlertMessage]:
    """Merge alerts of the same (advertiser, rule, kind) into one message each, in order of first appearance.

    A group of one comes back unchanged. ``more_count`` of the inputs adds up, so grouping grouped messages
    again is harmless.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    groups: dict[tuple[str, str, str], list[AlertMessage]] = {}
    for alert in alerts:
        groups.setdefault((alert.advertiser.id, alert.rule.name, alert.kind.value), []).append(alert)
    return [_merge(members, limit) for members in groups.values()]


def _merge(members: list[AlertMessage], limit: int) -> AlertMessage:
    head = members[0]
    if len(members) == 1 and len(head.entities) <= limit:
        return head
    entities = worst_first([e for m in members for e in m.entities], head.rule.sort_by, head.rule.worst)
    hidden = sum(m.more_count for m in members)
    return replace(
        head,
        entities=tuple(entities[:limit]),
        more_count=max(len(entities) - limit, 0) + hidden,
        first_seen=min(m.first_seen for m in members),
        now=max(m.now for m in members),
    )


def worst_first(entities: list[AlertEntity], sort_by: str | None = None, worst: str = "highest") -> list[AlertEntity]:
    """Entities ordered worst first by the value named ``sort_by`` (default: the first entity's first value)."""
    if sort_by is None:
        sort_by = next((e.values[0].name for e in entities if e.values), None)
    sign = -1 if worst == "highest" else 1

    def key(entity: AlertEntity) -> tuple[int, float, str]:
        found = entity.value(sort_by) if sort_by else None
        number = None if found is None else found.value
        if isinstance(number, int | float) and not isinstance(number, bool):
            return (0, sign * number, entity.id)
        return (1, 0.0, entity.id)

    return sorted(entities, key=key)
