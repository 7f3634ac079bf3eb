"""``[monitor]``, ``[storage]`` and ``[actions]``: how often the daemon polls, where it stores, how it may act.

Part of the settings; :mod:`monitor.config` is the face (:class:`~monitor.config.Settings`, ``load_settings``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.bytesize import ByteSize
from monitor.configtypes import (
    CONFIG_DIR,
    DAY,
    LONG,
    MAX_COUNT,
    YEAR,
    Boolean,
    ChangeLimit,
    ConfigPath,
    Integer,
    MinBudgets,
    Section,
    config_error,
)
from monitor.durations import Duration, at_least, at_most, format_duration
from monitor.errors import MonitorError
from monitor.store.urls import normalize_url  # the store's own rule: one definition of what it can open

__all__ = [
    "MIN_POLL_TIMEOUT",
    "POLL_TIMEOUT_SHARE",
    "ActionsSettings",
    "MonitorSettings",
    "StorageSettings",
    "mask_url_password",
]


#: The default poll deadline: this share of the interval, but never less than MIN_POLL_TIMEOUT.
POLL_TIMEOUT_SHARE = 0.8
MIN_POLL_TIMEOUT = timedelta(seconds=10)


class MonitorSettings(Section):
    """``[monitor]``: how often to poll, how long a poll may run, and where the rules are."""

    SYNONYMS: ClassVar[dict[str, str]] = {
        "every": "interval",
        "frequency": "interval",
        "rules_dir": "rules",
        "rules_path": "rules",
        "rule_files": "rules",
    }

    interval: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "poll at least daily")] = timedelta(
        minutes=5
    )
    poll_timeout: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "a poll is minutes long")] | None = (
        None
    )
    rules: ConfigPath = Field(default=Path("rules"), validate_default=True)
    templates: ConfigPath | None = None
    #: Adaptive polling (monitor.adaptive): an extra poll of an advertiser whose spend is about to make a rule
    #: fire before its next scheduled poll. Off by default: it spends API budget beyond the schedule.
    adaptive: Boolean = False
    #: The least time between the end of an advertiser's poll and an extra one (adaptive, REPORT_DATA_CHANGE).
    min_poll_gap: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "a gap between polls")] = timedelta(
        seconds=15
    )

    @property
    def poll_deadline(self) -> timedelta:
        """How long a poll may run before it is cancelled: ``poll_timeout``, by default 80 % of the interval (4
        minutes of 5, 48 s of 1), which leaves the rest of the interval for the cancelled poll to be recorded
        before the next one is due, but at least 10 s: even a small account's poll makes a few calls at the rate
        limit, and a deadline it cannot meet would fail every poll, where a poll longer than a short interval only
        makes the next one skip."""
        if self.poll_timeout is not None:
            return self.poll_timeout
        return max(self.interval * POLL_TIMEOUT_SHARE, MIN_POLL_TIMEOUT)


class StorageSettings(Section):
    """``[storage]``: the database of snapshots, alerts, outbox and journal."""

    SYNONYMS: ClassVar[dict[str, str]] = {
        "database": "url",
        "database_url": "url",
        "db": "url",
        "dsn": "url",
        "keep": "retention",
    }

    url: str = Field(default="sqlite:///monitor.db", validate_default=True)
    #: The history is kept in tiers (monitor.store.tiers): every poll for ``raw``, then one snapshot per hour up
    #: to ``retention``, then one per day up to ``daily``; older history is deleted. Holds, silences, decided
    #: approvals, delivered messages and closed breaker episodes are kept ``retention`` after they ended.
    raw: Annotated[Duration, at_least(timedelta(hours=1)), at_most(YEAR, LONG)] = timedelta(hours=48)
    retention: Annotated[Duration, at_least(timedelta(hours=1)), at_most(YEAR, LONG)] = timedelta(days=90)
    daily: Annotated[Duration, at_least(timedelta(hours=1)), at_most(YEAR, LONG)] = timedelta(days=365)
    #: ``/healthz`` is degraded while the database's disk has less free space than this (SQLite; "0" turns it off).
    min_free: ByteSize = 1000**3
    #: SQLite only: the database file never grows beyond this; above 90 % of it maintenance deletes the oldest
    #: history first (monitor.store.maintain), and a write that would still pass it is refused like a full disk
    #: (told as ``storage_full``). Keeps the monitor from filling a disk it shares.
    max_size: ByteSize | None = None

    @model_validator(mode="after")
    def _tiers_in_order(self) -> StorageSettings:
        # unset tiers follow retention: raw at most, daily at least as long (the model is frozen)
        if "raw" not in self.model_fields_set:
            object.__setattr__(self, "raw", min(self.raw, self.retention))
        if "daily" not in self.model_fields_set:
            object.__setattr__(self, "daily", max(self.daily, self.retention))
        if self.raw > self.retention:
            raise config_error(
                (
                    "raw",
                    f"must not be longer than retention ({format_duration(self.retention)}): every poll is kept "
                    "for raw, then one per hour up to retention",
                )
            )
        if self.daily < self.retention:
            raise config_error(
                (
                    "daily",
                    f"must not be shorter than retention ({format_duration(self.retention)}): one poll per "
                    "hour is kept up to retention, then one per day up to daily",
                )
            )
        return self

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            # not quoted: a database URL may carry a password
            raise config_error(
                ("", "expected a database URL like 'sqlite:///monitor.db' or 'postgresql+asyncpg://...'")
            )

        try:
            normalize_url(value)
        except MonitorError as exc:
            raise config_error(("", str(exc))) from None
        base = (info.context or {}).get(CONFIG_DIR)
        if not scheme.startswith("sqlite") or base is None or not rest.startswith("/"):
            return value
        file, query_sep, query = rest[1:].partition("?")
        if not file or file == ":memory:" or file.startswith(("/", "file:")):
            return value
        resolved = Path(base) / Path(file).expanduser()
        return f"{scheme}:///{resolved}{query_sep}{query}"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, mask_url_password(value) if name == "url" else value


class ActionsSettings(Section):
    """``[actions]``: whether rules may change campaigns, how much at once, and how they yield to people.

    ``max_writes`` real writes within any ``window`` (default: ``[monitor] interval``), across every advertiser and
    every replica sharing the database, open the circuit breaker: nothing more is written until ``tiktok-monitor
    actions resume`` or ``breaker_reset`` has passed. ``max_per_cycle`` is the deprecated name of ``max_writes``
    (``check`` warns about it). ``min_budget``: minimum daily budgets per currency (campaign, ad group), used
    before TikTok's documented ones; in a currency with neither, TikTok's answer decides."""

    enabled: Boolean = True
    max_writes: Integer = Field(default=10, ge=1, le=MAX_COUNT)
    window: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "it counts recent writes")] | None = None
    breaker_reset: Annotated[Duration, at_least(timedelta(minutes=1)), at_most(YEAR, LONG)] = timedelta(hours=1)
    max_per_cycle: Integer | None = Field(default=None, ge=1, le=MAX_COUNT, json_schema_extra={"deprecated": True})
    max_change_per_day: ChangeLimit = "+100%"
    override_hold: Annotated[Duration, at_least(timedelta(0)), at_most(YEAR, LONG)] = timedelta(hours=24)
    min_budget: MinBudgets = Field(default_factory=dict)

    @model_validator(mode="after")
    def _old_name(self) -> ActionsSettings:
        if self.max_per_cycle is None:
            return self
        if "max_writes" in self.model_fields_set:
            raise config_error(("max_per_cycle", "the deprecated name of max_writes: set max_writes only"))
        object.__setattr__(self, "max_writes", self.max_per_cycle)  # the alias; the model is frozen
        return self

    @property
    def change_percent(self) -> float | None:
        """``max_change_per_day`` as a percentage (100.0 for "+100%"), None when it is an amount."""
        value = self.max_change_per_day
        return float(value.strip().lstrip("+").rstrip("%")) if isinstance(value, str) else None


def mask_url_password(url: str) -> str:
    """``url`` with its password, if any, shown as ``***`` (for repr and ``check``)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
