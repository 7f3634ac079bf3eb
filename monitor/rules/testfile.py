"""The format of a rule test file (``tiktok-monitor test-rules FILE``), validated strictly like a rule file.

::

    rule_files = ["../*.toml"]          # rule files to test, relative to this file; globs allowed
    channels = ["slack"]                # channels taken as configured (default: slack, email, webhook, console)

    [[case]]
    name = "overspend without conversions fires after 15 minutes"
    advertiser_id = "7000000000000000001"   # default
    timezone = "America/New_York"           # the advertiser's zone, for hour, weekday, day_elapsed (default UTC)
    currency = "USD"                        # the advertiser's currency (default USD)
    rules = ["overspend-no-conversions"]    # only these rules (default: every rule loaded)

    [[case.poll]]                       # one poll; polls run in order, each sees the one before as "prev"
    at = 2026-11-24T15:00:00Z           # or after = "5m": that long after the previous poll
    [[case.poll.entity]]
    level = "campaign"
    id = "1800000000000001"
    name = "Summer Sale"                # also operation_status, secondary_status, budget, budget_mode,
    budget = 1000                       #   campaign_id, adgroup_id; changed_by (this poll only)
    budget_mode = "BUDGET_MODE_DAY"
    today = { spend = 520.0, conversion = 0 }   # metrics per window: today, yesterday, last_3d, ... lifetime
    baseline = { spend = 200.0 }        # what baseline(spend) reads (any weeks); stddev = { ... } likewise
    profile = { spend = 0.4 }           # projected_spend's hourly profile: 40 % of a day's spend usually done by now

    [[case.expect]]                     # what must be true right after one poll, for one rule
    at = 2026-11-24T15:15:00Z           # or poll = 4 (1-based)
    rule = "overspend-no-conversions"
    firing = ["1800000000000001"]       # exactly these entity ids are firing (checked when given)
    pending = []                        # exactly these are pending
    notified = { "1800000000000001" = "firing" }      # exactly these messages: firing | repeat | resolved
    actions = { "1800000000000001" = "pause (dry run)" }  # exactly these actions ran ("pause (waiting for
                                                          #   approval)" for a rule with approve)

A poll starts from everything the previous poll saw: an entity listed again changes only the fields and
metrics it gives (``"-"`` clears one: no data), ``gone = true`` removes it. Metrics not given are missing.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config_error import config_error
from monitor.configtypes import Boolean
from monitor.domain import Level
from monitor.domain.baseline import KINDS
from monitor.durations import Duration
from monitor.errors import Problem
from monitor.rules import names as N
from monitor.rules.channels import KNOWN_CHANNELS
from monitor.rules.validation import one_of

NOTICE_KINDS = ("firing", "repeat", "resolved")
CLEAR = "-"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise config_error(("", f"write the time with its offset, like {value.isoformat()}Z"))
    return value


Number = float | int


class EntityModel(_Strict):
    """One entity as a poll saw it; in later polls, only what changed."""

    level: Level
    id: str = Field(min_length=1)
    name: str | None = None
    operation_status: str | None = None
    secondary_status: str | None = None
    budget: Number | str | None = None
    budget_mode: str | None = None
    campaign_id: str | None = None
    adgroup_id: str | None = None
    #: Who changed its status or budget since the previous poll (this poll only: not carried to the next).
    changed_by: str | None = None
    gone: Boolean = False
    today: dict[str, Number | str] | None = None
    yesterday: dict[str, Number | str] | None = None
    last_3d: dict[str, Number | str] | None = None
    last_7d: dict[str, Number | str] | None = None
    last_14d: dict[str, Number | str] | None = None
    last_30d: dict[str, Number | str] | None = None
    lifetime: dict[str, Number | str] | None = None
    this_hour: dict[str, Number | str] | None = None
    last_hour: dict[str, Number | str] | None = None
    last_3h: dict[str, Number | str] | None = None
    last_6h: dict[str, Number | str] | None = None
    #: What baseline(x) and stddev(x) read, whatever ``weeks`` the rule gives (no history is fetched in a test).
    baseline: dict[str, Number | str] | None = None
    stddev: dict[str, Number | str] | None = None
    #: The hourly profile projected_spend reads: ``spend`` is the share of a day's spend usually done by now.
    profile: dict[str, Number | str] | None = None

    @field_validator("level", mode="plain")
    @classmethod
    def _level(cls, value: object) -> Level:
        return Level(one_of(value, [lv.value for lv in Level], "level"))

    @field_validator("changed_by")
    @classmethod
    def _changed_by(cls, value: str | None) -> str | None:
        return None if value is None else one_of(value, N.CHANGED_BY, "changed_by")

    @field_validator("budget")
    @classmethod
    def _budget(cls, value: object) -> object:
        if isinstance(value, str) and value != CLEAR:
            raise config_error(("", f'expected a number, or "-" for no data; got {value!r}'))
        return value

    @field_validator(*N.WINDOWS, *KINDS, "profile", mode="before")
    @classmethod
    def _metrics(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        problems = []
        for name, number in value.items():
            if name not in N.METRICS:
                problems.append((name, one_of_message(name, N.METRICS, "unknown metric")))
            elif isinstance(number, bool) or not (isinstance(number, int | float) or number == CLEAR):
                problems.append((name, f'expected a number, or "-" for no data; got {number!r}'))
        if problems:
            raise config_error(*problems)
        return value

    def given(self) -> set[str]:
        return set(self.model_fields_set)


class PollModel(_Strict):
    at: datetime | None = None
    after: Duration | None = None
    entity: list[EntityModel] = Field(default_factory=list)

    @field_validator("at")
    @classmethod
    def _offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _when(self) -> PollModel:
        if (self.at is None) == (self.after is None):
            raise config_error(("at", 'set either at (a time like 2026-11-24T10:00:00Z) or after (like "5m")'))
        return self


class ExpectModel(_Strict):
    at: datetime | None = None
    poll: int | None = Field(default=None, ge=1)
    rule: str
    firing: list[str] | None = None
    pending: list[str] | None = None
    notified: dict[str, str] | None = None
    actions: dict[str, str] | None = None

    @field_validator("at")
    @classmethod
    def _offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @field_validator("notified")
    @classmethod
    def _kinds(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        problems = []
        for entity, kind in (value or {}).items():
            if kind not in NOTICE_KINDS:
                problems.append((entity, f"expected one of {', '.join(NOTICE_KINDS)}; got {kind!r}"))
        if problems:
            raise config_error(*problems)
        return value

    @model_validator(mode="after")
    def _which_poll(self) -> ExpectModel:
        if (self.at is None) == (self.poll is None):
            raise config_error(("at", "set either at (the time of a poll) or poll (its number, from 1)"))
        return self


class CaseModel(_Strict):
    name: str = Field(min_length=1)
    advertiser_id: str = "7000000000000000001"
    timezone: str = "UTC"
    currency: str = "USD"
    rules: list[str] | None = None
    poll: list[PollModel] = Field(min_length=1)
    expect: list[ExpectModel] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise config_error(("", f'is an ISO 4217 code in capitals, like "USD" or "JPY"; got {value!r}'))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise config_error(
                ("", f"unknown time zone {value!r}; expected an IANA name like 'America/New_York'")
            ) from None
        return value


class TestFileModel(_Strict):
    rule_files: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: list(KNOWN_CHANNELS))
    case: list[CaseModel] = Field(min_length=1)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        problems = []
        for index, channel in enumerate(value):
            try:
                one_of(channel, KNOWN_CHANNELS, "a channel")
            except PydanticCustomError as exc:  # the "config" error carries the message in its context, always set
                problems.append((str(index), exc.context["problems"][0][1]))  # type: ignore[index]
        if problems:
            raise config_error(*problems)
        return value


def one_of_message(value: str, choices: Iterable[str], what: str) -> str:
    """``what``, with "did you mean" when ``value`` is close to one of ``choices``."""
    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return f"{what}; did you mean {close[0]!r}?" if close else what


def rule_test_files(paths: Iterable[Path | str]) -> tuple[list[str], list[Problem]]:
    """The test files named on the command line: files as given, and each directory's ``*.toml`` (sorted); paths
    normalised (``rules/tests/../x.toml`` is ``rules/x.toml``), each once."""
    files: list[str] = []
    problems: list[Problem] = []
    for path in paths:
        shown = tidy(os.fspath(path))
        if os.path.isdir(shown):
            found = sorted(os.path.join(shown, name) for name in os.listdir(shown) if name.endswith(".toml"))
            found = [file for file in found if os.path.isfile(file)]
            if not found:
                problems.append(Problem(shown, None, "", "no *.toml rule test files in this directory"))
        else:
            found = [shown]
        files.extend(file for file in found if file not in files)
    return files, problems


def tidy(path: str) -> str:
    """``path`` without ``.`` and ``dir/..`` parts, as it is shown (``rules/tests/../x.toml`` is ``rules/x.toml``),
    unless a symbolic link gives ``..`` another meaning there."""
    normal = os.path.normpath(path)
    return normal if os.path.realpath(normal) == os.path.realpath(path) else path
