"""The ad account a poll, a rule or a message is about (:class:`Account`), and time zones by name."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

_UNKNOWN_ZONES: set[str] = set()


def zone_or_utc(name: str | tzinfo | None) -> tzinfo:
    """A time zone by IANA name (or as given); None means UTC. An unknown name also means UTC, said once in
    the log per name, because every local date and hour of that advertiser is then counted in UTC."""
    if name is None or isinstance(name, tzinfo):
        return name or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name not in _UNKNOWN_ZONES:
            _UNKNOWN_ZONES.add(name)
            log.warning("unknown time zone %r: its local days and hours are counted in UTC", name)
        return UTC


@dataclass(frozen=True)
class Account:
    """An ad account (advertiser): id, name, currency (ISO 4217) and IANA time zone name, as advertiser/info
    reports them; ``zone`` is that time zone, resolved once (UTC when unknown, see :func:`zone_or_utc`)."""

    id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zone_or_utc(self.timezone))

    def local_date(self, now: datetime) -> date:
        """The account's local date at the instant ``now`` (aware)."""
        return now.astimezone(self.zone).date()

    def as_dict(self) -> dict[str, str | None]:
        """The account as JSON data (what messages carry)."""
        return {"id": self.id, "name": self.name, "currency": self.currency, "timezone": self.timezone}
