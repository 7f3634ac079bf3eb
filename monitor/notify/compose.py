"""From lifecycle transitions to outbox rows: the messages one poll of one advertiser sends.

The glue between ``rules/`` (which decides *that* something is worth saying) and ``notify/`` (which says it):
each transition that should notify becomes an :class:`AlertMessage` with the values the rule saw, units and
an Ads Manager link; messages of the same rule, advertiser and kind are grouped (the worst few listed, "and N
more"), and each message becomes one outbox row per channel the rule names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.domain import Account, MetricValue
from monitor.notify.grouping import DEFAULT_LIMIT, group_alerts
from monitor.notify.links import ads_manager_url
from monitor.notify.message import Action, AlertEntity, AlertKind, AlertMessage, MatchedValue, RuleInfo
from monitor.notify.message import notifications as message_notifications
from monitor.notify.units import unit_for
from monitor.rules.lifecycle import Transition
from monitor.rules.names import WINDOWS
from monitor.store.values import Notification
from monitor.tiktok.models import AdvertiserInfo

#: Values that show a status or budget change: the message says who made it, when known.
_CHANGEABLE = frozenset({"operation_status", "secondary_status", "budget"})
#: Lifecycle transition kinds that are told, and how.
KINDS = {"firing": AlertKind.FIRING, "repeat": AlertKind.REPEAT, "resolved": AlertKind.RESOLVED}


def matched_values(values: Mapping[str, MetricValue], window: str, currency: str | None) -> tuple[MatchedValue, ...]:
    """The values a rule read, with units; ``yesterday.cpc`` is cpc in the yesterday window."""
    matched = []
    for name, value in values.items():
        prefix, _, rest = name.partition(".")
        value_window: str | None
        if rest and prefix in WINDOWS:
            metric, value_window = rest, prefix
        elif rest and prefix == "prev":
            metric, value_window = rest, window
        else:
            metric, value_window = name, window if isinstance(value, int | float) or value is None else None
        matched.append(MatchedValue(name, value, unit_for(metric, currency), value_window))
    return tuple(matched)


def with_changed_by(values: Mapping[str, MetricValue], who: str | None) -> Mapping[str, MetricValue]:
    """``values`` and, when they show a status or budget and the Change Log said who changed it this poll,
    ``changed_by`` after them (already there when the rule reads it)."""
    if who is None or "changed_by" in values:
        return values
    if not any(name.rpartition(".")[2] in _CHANGEABLE for name in values):
        return values
    return {**values, "changed_by": who}


def alert_message(
    transition: Transition, advertiser: AdvertiserInfo, now: datetime, action: Action | None = None
) -> AlertMessage:
    """One transition as a message about one entity."""
    rule, alert = transition.rule, transition.alert
    entity = transition.entity or (transition.finding.entity if transition.finding else None)
    values = transition.finding.values if transition.finding is not None else alert.values
    values = with_changed_by(values, entity.changed_by if entity is not None else None)
    name = entity.name if entity is not None else None
    return AlertMessage(
        kind=KINDS[transition.kind],
        rule=RuleInfo(
            name=rule.name,
            severity=rule.severity,
            description=rule.description or None,
            when=rule.when.text,
            window=rule.window,
        ),
        advertiser=Account(advertiser.id, advertiser.name, advertiser.currency, advertiser.timezone),
        entities=(
            AlertEntity(
                level=alert.level,
                id=alert.entity_id,
                name=name,
                values=matched_values(values, rule.window, advertiser.currency),
                link=ads_manager_url(alert.level, advertiser.id, alert.entity_id),
                first_seen=alert.since,
                action=action,
            ),
        ),
        first_seen=alert.since,
        now=now,
    )


def alert_notifications(
    transitions: Iterable[Transition],
    advertiser: AdvertiserInfo,
    now: datetime,
    *,
    actions: Mapping[tuple[str, str], Action] | None = None,
    group_limit: int = DEFAULT_LIMIT,
) -> list[Notification]:
    """Outbox rows for the transitions that notify, grouped per (rule, kind), one row per channel of the rule.
    ``actions`` maps (rule, entity id) to what the rule's action did, shown with the entity."""
    actions = actions or {}
    told = [t for t in transitions if t.notify and t.kind in KINDS]
    channels = {t.rule.name: [str(target) for target in t.rule.notify] for t in told}
    messages = [alert_message(t, advertiser, now, actions.get((t.rule.name, t.alert.entity_id))) for t in told]
    rows: list[Notification] = []
    for message in group_alerts(messages, limit=group_limit):
        rows.extend(message_notifications(message, channels[message.rule.name]))
    return rows
