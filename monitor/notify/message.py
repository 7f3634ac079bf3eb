"""What a notification says: the stable, documented context every template and the webhook receive.

Two kinds of message exist. An :class:`AlertMessage` tells that a rule started firing, is still firing (a
repeat after its cooldown) or resolved, for one or more entities of one advertiser. An
:class:`OperationalMessage` tells that the monitor itself has a problem with an advertiser or its rules (token
revoked, advertiser unreachable, permission lost, rules failing to reload, an action that failed or was held
back), or that the problem cleared.

A message is also the outbox payload (``Notification.payload``): :func:`to_json` gives plain JSON data and
:func:`from_json` rebuilds an equal message, exactly (``from_json(to_json(m)) == m``). Times are aware
datetimes, written as ISO 8601 text. ``version`` lets a newer monitor read what an older one queued.

Text that comes from the TikTok API (advertiser, campaign, ad group and ad names) is kept as it is here;
escaping is the renderer's job (Slack mrkdwn, HTML), so the same message is safe in every channel.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from monitor.domain import Account, Level, MetricValue, OpsKind, Outcome, Severity
from monitor.notify.names import display_name
from monitor.notify.units import format_value
from monitor.store.values import Notification

VERSION = 1


class AlertKind(enum.StrEnum):
    FIRING = "firing"  # the rule started to hold (after its "for")
    REPEAT = "repeat"  # still firing, told again after the rule's cooldown
    RESOLVED = "resolved"  # no longer holds


def _shown(account: Account) -> Account:
    """The account with its name as messages show it (:func:`monitor.notify.names.display_name`)."""
    name = display_name(account.name)
    return account if name == account.name else replace(account, name=name)


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {moment.isoformat()}")
    return moment


@dataclass(frozen=True)
class MatchedValue:
    """One value the rule looked at, e.g. ``spend`` today = 612.4 USD. ``value`` None means "no data".

    ``name`` is as the rule wrote it (``"spend"``, ``"yesterday.cpc"``, ``"secondary_status"``); ``unit`` is the
    currency, ``"%"`` or None (see monitor.notify.units); ``window`` is the report window (None for entity fields).
    """

    name: str
    value: MetricValue
    unit: str | None = None
    window: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.value, float) and not math.isfinite(self.value):
            object.__setattr__(self, "value", None)  # NaN/inf is no data, and JSON cannot hold it

    @property
    def display(self) -> str:
        """The value with its unit, as people read it: ``"612.40 USD"``, ``"1.25 %"``, ``"no data"``."""
        return format_value(self.value, self.unit)


@dataclass(frozen=True)
class Action:
    """What the rule's action did for an entity. ``type`` as in the rule ("pause", "enable", ...)."""

    type: str
    outcome: Outcome
    reason: str | None = None
    journal_id: int | None = None  # for `tiktok-monitor revert ID`
    approval_id: str | None = None  # awaiting approval: for `tiktok-monitor approvals approve ID` (and buttons)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))


@dataclass(frozen=True)
class AlertEntity:
    """A campaign, ad group, ad (or the advertiser) the rule fired for, with the values that matched."""

    level: Level
    id: str
    name: str | None = None
    values: tuple[MatchedValue, ...] = ()
    link: str | None = None  # Ads Manager (monitor.notify.links), best effort
    first_seen: datetime | None = None  # when this entity's alert started
    action: Action | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "name", display_name(self.name))  # a name from TikTok: one line, bounded, inert
        object.__setattr__(self, "values", tuple(self.values))
        if self.first_seen is not None:
            _aware(self.first_seen, "first_seen")

    def value(self, name: str) -> MatchedValue | None:
        return next((v for v in self.values if v.name == name), None)


@dataclass(frozen=True)
class RuleInfo:
    """The rule as its file states it. ``worst`` says which end of ``sort_by`` is worst when grouping."""

    name: str
    severity: Severity = Severity.WARNING
    description: str | None = None
    when: str | None = None
    window: str = "today"
    sort_by: str | None = None  # default: the first value of the entities
    worst: str = "highest"  # "highest" | "lowest"

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        if self.worst not in ("highest", "lowest"):
            raise ValueError(f"worst must be 'highest' or 'lowest', got {self.worst!r}")


@dataclass(frozen=True)
class AlertMessage:
    """A rule fired (or repeats, or resolved) for ``entities`` of one advertiser; ``more_count`` more not listed."""

    type: ClassVar[str] = "alert"

    kind: AlertKind
    rule: RuleInfo
    advertiser: Account
    entities: tuple[AlertEntity, ...]
    first_seen: datetime
    now: datetime
    more_count: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AlertKind(self.kind))
        object.__setattr__(self, "advertiser", _shown(self.advertiser))
        object.__setattr__(self, "entities", tuple(self.entities))
        _aware(self.first_seen, "first_seen")
        _aware(self.now, "now")
        if self.more_count < 0:
            raise ValueError("more_count must not be negative")

    @property
    def total(self) -> int:
        """How many entities the message is about, listed or not."""
        return len(self.entities) + self.more_count

    @property
    def key(self) -> str:
        """What the outbox groups by: ``rule/level/id`` for one entity, ``rule/advertiser/kind`` for a group."""
        if self.total == 1:
            only = self.entities[0]
            return f"{self.rule.name}/{only.level.value}/{only.id}"
        return f"{self.rule.name}/{self.advertiser.id}/{self.kind.value}"


@dataclass(frozen=True)
class OperationalMessage:
    """The monitor has a problem with ``subject`` (an advertiser id, or "rules"), or it cleared (``recovered``)."""

    type: ClassVar[str] = "ops"

    kind: OpsKind
    subject: str
    detail: str
    since: datetime  # when the problem started
    now: datetime
    recovered: bool = False
    repeat: bool = False  # told again after the cooldown
    advertiser: Account | None = None
    failures: int | None = None  # consecutive failed polls (advertiser_unreachable)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OpsKind(self.kind))
        if self.advertiser is not None:
            object.__setattr__(self, "advertiser", _shown(self.advertiser))
        _aware(self.since, "since")
        _aware(self.now, "now")

    @property
    def severity(self) -> Severity:
        return Severity.INFO if self.recovered else Severity.CRITICAL

    @property
    def key(self) -> str:
        return f"_ops/{self.kind.value}/{self.subject}"


Message = AlertMessage | OperationalMessage


# --- JSON ----------------------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def to_json(message: Message) -> dict[str, Any]:
    """The message as plain JSON data (dicts, lists, strings, numbers, None), with ``type`` and ``version``."""
    head: dict[str, Any] = {"type": message.type, "version": VERSION}
    if isinstance(message, AlertMessage):
        return {
            **head,
            "kind": message.kind.value,
            "rule": {**vars(message.rule), "severity": message.rule.severity.value},
            "advertiser": message.advertiser.as_dict(),
            "entities": [_entity_json(e) for e in message.entities],
            "more_count": message.more_count,
            "first_seen": _time(message.first_seen),
            "now": _time(message.now),
        }
    return {
        **head,
        "kind": message.kind.value,
        "subject": message.subject,
        "detail": message.detail,
        "since": _time(message.since),
        "now": _time(message.now),
        "recovered": message.recovered,
        "repeat": message.repeat,
        "advertiser": None if message.advertiser is None else message.advertiser.as_dict(),
        "failures": message.failures,
    }


def _entity_json(entity: AlertEntity) -> dict[str, Any]:
    action = entity.action
    return {
        "level": entity.level.value,
        "id": entity.id,
        "name": entity.name,
        "values": [vars(v).copy() for v in entity.values],
        "link": entity.link,
        "first_seen": _time(entity.first_seen),
        "action": None if action is None else {**vars(action), "outcome": action.outcome.value},
    }


def from_json(data: Mapping[str, Any]) -> Message:
    """Rebuild a message from :func:`to_json` data (also from the store's frozen copy). ValueError if it is not one."""
    try:
        version = data["version"]
        if not isinstance(version, int) or version > VERSION:
            raise ValueError(f"message version {version!r} is newer than this monitor understands ({VERSION})")
        if data["type"] == AlertMessage.type:
            return AlertMessage(
                kind=AlertKind(data["kind"]),
                rule=RuleInfo(**data["rule"]),
                advertiser=Account(**data["advertiser"]),
                entities=tuple(_entity(e) for e in data["entities"]),
                more_count=data["more_count"],
                first_seen=datetime.fromisoformat(data["first_seen"]),
                now=datetime.fromisoformat(data["now"]),
            )
        if data["type"] == OperationalMessage.type:
            advertiser = data["advertiser"]
            return OperationalMessage(
                kind=OpsKind(data["kind"]),
                subject=data["subject"],
                detail=data["detail"],
                since=datetime.fromisoformat(data["since"]),
                now=datetime.fromisoformat(data["now"]),
                recovered=data["recovered"],
                repeat=data["repeat"],
                advertiser=None if advertiser is None else Account(**advertiser),
                failures=data["failures"],
            )
        raise ValueError(f"unknown message type {data['type']!r}")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a notification message: {type(exc).__name__}: {exc}") from exc


def _entity(data: Mapping[str, Any]) -> AlertEntity:
    action = data["action"]
    return AlertEntity(
        level=Level(data["level"]),
        id=data["id"],
        name=data["name"],
        values=tuple(MatchedValue(**v) for v in data["values"]),
        link=data["link"],
        first_seen=_parse_time(data["first_seen"]),
        action=None if action is None else Action(**action),
    )


def notifications(message: Message, channels: Iterable[str]) -> list[Notification]:
    """The outbox rows for one message: one per channel spec ("slack", "slack:#other", "email:a@b.c")."""
    advertiser_id = None if message.advertiser is None else message.advertiser.id
    payload = to_json(message)
    unique = dict.fromkeys(channels)  # "slack" twice is one message
    return [
        Notification(channel=spec, payload=payload, advertiser_id=advertiser_id, key=message.key) for spec in unique
    ]
