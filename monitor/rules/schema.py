"""The pydantic models of a rule file: every key of ``[[rule]]``, validated strictly, with one-line messages.

Errors are raised as pydantic custom errors of type "config" (:func:`monitor.config_error.config_error`), which
:class:`monitor.tomlvalidate.Loader` turns into ``file:line: key: message`` lines. Cross-references (notify
channels, :mod:`monitor.rules.channels`) read the set of configured channels from the validation context; an
``action`` is checked by :mod:`monitor.rules.actionspec`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config_error import config_error
from monitor.configtypes import Boolean, NumericId
from monitor.domain import Level, Severity
from monitor.domain.approvals import DEFAULT_APPROVE_WITHIN
from monitor.durations import Duration, at_most
from monitor.rules import names as N
from monitor.rules.actionspec import parse_action
from monitor.rules.active import parse_range
from monitor.rules.channels import CHANNELS, CHANNELS_HINT, CONFIG_HINT, KNOWN_CHANNELS, notify_target
from monitor.rules.expr import Condition, ExprError, compile_when
from monitor.rules.model import DEFAULT_COOLDOWN, Action, NotifyTarget
from monitor.rules.tokens import located
from monitor.rules.validation import one_of
from monitor.tomlmessages import show_value

RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}")


def _rule_name(value: str) -> str:
    if not RULE_NAME.fullmatch(value):
        raise config_error(
            ("", f"expected 1-100 letters, digits, spaces or _ . : - (starting with a letter or digit); got {value!r}")
        )
    return value


#: The longest ``for`` and ``cooldown``: longer cannot be meant.
LONGEST = timedelta(days=366)
RuleDuration = Annotated[Duration, at_most(LONGEST, "longer than a year cannot be meant")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True)


_CURRENCY = re.compile(r"[A-Z]{3}")


class MatchModel(_Strict):
    """``[rule.match]``: a rule's scope beyond its level."""

    advertiser_ids: list[NumericId] | None = None
    campaign_ids: list[NumericId] | None = None
    ids: list[NumericId] | None = None
    name: str | list[str] | None = None
    currencies: list[str] | None = None

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, value: list[str] | None) -> list[str] | None:
        for index, code in enumerate(value or []):
            if not _CURRENCY.fullmatch(code):
                raise config_error((str(index), f'is an ISO 4217 code in capitals, like "USD" or "JPY"; got {code!r}'))
        if value is not None and not value:
            raise config_error(("", "must not be empty: leave currencies out to match every currency"))
        return value

    @field_validator("name")
    @classmethod
    def _globs(cls, value: str | list[str] | None) -> str | list[str] | None:
        globs = [value] if isinstance(value, str) else value or []
        for index, glob in enumerate(globs):
            if not glob:
                raise config_error(("" if isinstance(value, str) else str(index), "must not be empty"))
        return value


class RuleModel(_Strict):
    """One ``[[rule]]`` table. Field order matters: ``when`` and ``action`` are checked against ``level``."""

    #: Keys people write for ours (from other alerting tools): suggested before the closest spelling.
    SYNONYMS: ClassVar[dict[str, str]] = {
        "condition": "when",
        "if": "when",
        "expr": "when",
        "expression": "when",
        "query": "when",
        "threshold": "when",
        "duration": "for",
        "pending": "for",
        "wait": "for",
        "repeat": "cooldown",
        "repeat_interval": "cooldown",
        "snooze": "cooldown",
        "priority": "severity",
        "labels": "match",
        "scope": "match",
        "filter": "match",
        "where": "match",
        "channels": "notify",
        "alert": "notify",
        "actions": "action",
        "do": "action",
        "then": "action",
        "title": "name",
        "id": "name",
        "summary": "description",
        "annotations": "description",
        "period": "window",
        "range": "window",
        "timeframe": "window",
        "dryrun": "dry_run",
        "dry-run": "dry_run",
        "approval": "approve",
        "require_approval": "approve",
        "confirm": "approve",
        "approve_for": "approve_within",
        "approval_timeout": "approve_within",
    }

    name: Annotated[str, AfterValidator(_rule_name)]
    level: Level
    window: str = N.DEFAULT_WINDOW
    description: str = ""
    when: Condition
    for_: RuleDuration = Field(default=timedelta(0), alias="for")
    cooldown: RuleDuration = DEFAULT_COOLDOWN
    severity: Severity = Severity.WARNING
    notify: tuple[NotifyTarget, ...] = ()
    notify_resolved: Boolean = False
    action: Action | None = None
    dry_run: Boolean = False
    approve: Boolean | None = None
    approve_within: RuleDuration | None = None
    match: MatchModel | None = None
    enabled: Boolean = True
    active: tuple[tuple[int, int], ...] | None = None
    active_days: frozenset[str] | None = None

    @field_validator("active", mode="plain")
    @classmethod
    def _active(cls, value: object) -> tuple[tuple[int, int], ...]:
        ranges = [value] if isinstance(value, str) else value if isinstance(value, list) and value else None
        if ranges is None or not all(isinstance(r, str) for r in ranges):
            raise config_error(
                ("", f'expected a time range like "08:00-20:00" or a list of them, got {show_value(value)}')
            )
        parsed, problems = [], []
        for index, text in enumerate(ranges):
            try:
                parsed.append(parse_range(text))
            except ValueError as exc:
                problems.append(("" if isinstance(value, str) else str(index), str(exc)))
        if problems:
            raise config_error(*problems)
        return tuple(sorted(parsed))

    @field_validator("active_days", mode="plain")
    @classmethod
    def _active_days(cls, value: object) -> frozenset[str]:
        if not isinstance(value, list) or not value:
            raise config_error(("", f'expected a list of days like ["mon", "tue"], got {show_value(value)}'))
        for index, day in enumerate(value):
            try:
                one_of(day, N.WEEKDAYS, "a day")
            except PydanticCustomError as exc:
                raise config_error((str(index), exc.context["problems"][0][1])) from None  # type: ignore[index]
        return frozenset(value)

    @field_validator("level", mode="plain")
    @classmethod
    def _level(cls, value: object) -> Level:
        return Level(one_of(value, [lv.value for lv in Level], "level"))

    @field_validator("window", mode="plain")
    @classmethod
    def _window(cls, value: object) -> str:
        return one_of(value, N.WINDOWS, "window")

    @field_validator("severity", mode="plain")
    @classmethod
    def _severity(cls, value: object) -> Severity:
        return Severity(one_of(value, [s.value for s in Severity], "severity"))

    @field_validator("when", mode="plain")
    @classmethod
    def _when(cls, value: object, info: ValidationInfo) -> Condition:
        if not isinstance(value, str):
            raise config_error(("", f'expected a condition as a string, like "spend > 100", got {show_value(value)}'))
        level = info.data.get("level")
        window = info.data.get("window", N.DEFAULT_WINDOW)
        try:
            return compile_when(value, level=level, window=window)
        except ExprError as exc:
            raise config_error(*(("", located(pos, message)) for pos, message in exc.problems)) from None

    @field_validator("notify", mode="plain")
    @classmethod
    def _notify(cls, value: object, info: ValidationInfo) -> tuple[NotifyTarget, ...]:
        if not isinstance(value, list):
            raise config_error(("", f'expected an array of channel names, like ["slack"], got {show_value(value)}'))
        configured = frozenset((info.context or {}).get(CHANNELS, KNOWN_CHANNELS))
        hint = (info.context or {}).get(CHANNELS_HINT, CONFIG_HINT)
        targets, problems, seen = [], [], set()
        for index, entry in enumerate(value):
            try:
                target = notify_target(entry, configured, hint)
            except ValueError as exc:
                problems.append((str(index), str(exc)))
                continue
            if str(target) in seen:
                problems.append((str(index), f"{str(target)!r} is listed twice"))
            seen.add(str(target))
            targets.append(target)
        if problems:
            raise config_error(*problems)
        return tuple(targets)

    @field_validator("action", mode="plain")
    @classmethod
    def _action(cls, value: object, info: ValidationInfo) -> Action | None:
        return None if value is None else parse_action(value, info.data.get("level"))

    @model_validator(mode="after")
    def _consistent(self) -> RuleModel:
        problems = []
        if self.dry_run and self.action is None:
            problems.append(("dry_run", "dry_run applies to the rule's action, and this rule has none"))
        for key in ("approve", "approve_within"):
            if getattr(self, key) is not None and self.action is None:
                problems.append((key, f"{key} applies to the rule's action, and this rule has none"))
        if self.approve is False and self.approve_within is not None:
            problems.append(("approve_within", "approve = false: the action does not wait; leave approve_within out"))
        if self.approve_within is not None and self.approve_within <= timedelta(0):
            problems.append(("approve_within", 'an approval must be able to wait: give a duration like "30m"'))
        if self.notify_resolved and not self.notify:
            problems.append(("notify_resolved", "there is no channel to send resolved notices to: set notify"))
        if self.match is not None and self.match.campaign_ids is not None and self.level is Level.ADVERTISER:
            problems.append(("match.campaign_ids", "does not apply to advertiser rules"))
        if problems:
            raise config_error(*problems)
        return self

    def approval_wait(self) -> timedelta | None:
        """How long the action waits for a person: ``approve_within``, or the default for ``approve = true``
        (:data:`~monitor.domain.approvals.DEFAULT_APPROVE_WITHIN`); None: it acts at once."""
        if self.approve is False or (self.approve is None and self.approve_within is None):
            return None
        return self.approve_within or DEFAULT_APPROVE_WITHIN


class RuleFileModel(_Strict):
    """A whole rule file: an array of ``[[rule]]`` tables and nothing else."""

    rule: list[RuleModel] = Field(default_factory=list)
