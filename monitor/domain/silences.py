"""Silences: while one is active, the alerts it matches neither notify nor act (their lifecycle goes on).

A silence is made by a person (``tiktok-monitor silence add``) for a while (``starts_at`` until ``ends_at``) and
names the alerts it mutes with :class:`Matcher` s, like Alertmanager's: each matcher compares one fact of an alert
with a value, by equality (``rule=overspend``) or by a shell-style glob (``name~'Summer *'``: ``*``, ``?``,
``[...]``; case-sensitive, the whole value). An alert is silenced when *every* matcher of a live silence matches
it. A fact an alert lacks (the name of an entity no longer returned) is the empty text, as a missing label is in
Alertmanager. ``expire`` ends a silence early by setting ``ends_at`` to the time it was expired.

The facts (:data:`FACTS`) are ``rule`` (the rule's name), ``advertiser`` (the advertiser id), ``level``
(advertiser, campaign, adgroup, ad), ``entity`` (the entity id) and ``name`` (the entity's name).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.domain.levels import Level
from monitor.domain.values import aware

#: The facts of an alert a matcher may name.
FACTS = ("rule", "advertiser", "level", "entity", "name")
#: How a matcher is written: equality and glob.
EQUAL, GLOB = "=", "~"


class MatcherError(ValueError):
    """A matcher that cannot be used; the message says why, for people."""


@dataclass(frozen=True)
class Matcher:
    """``name`` (one of :data:`FACTS`) equals ``value``, or (``is_glob``) matches the glob ``value``."""

    name: str
    value: str
    is_glob: bool = False

    def __post_init__(self) -> None:
        if self.name not in FACTS:
            raise MatcherError(f"unknown matcher {self.name!r}: expected one of {', '.join(FACTS)}")
        if not self.value:
            raise MatcherError(f"matcher {self.name!r} has no value")
        if self.name == "level" and not self.is_glob and self.value not in {lv.value for lv in Level}:
            raise MatcherError(f"level must be one of {', '.join(lv.value for lv in Level)}; got {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``rule=overspend`` (equality) or ``name~Summer*`` (glob). Raises :class:`MatcherError`."""
        match = re.fullmatch(r"\s*([a-z_]+)\s*([=~])(.*)", text, re.DOTALL)
        if match is None:
            raise MatcherError(f"expected a matcher like rule=overspend or name~'Summer *', got {text!r}")
        name, op, value = match.groups()
        if op == EQUAL and value.startswith("~"):
            raise MatcherError(f"{text!r}: write {name}~{value[1:]} for a glob (here ~ is a glob, not a regex)")
        return cls(name, value, is_glob=op == GLOB)

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        """Whether the alert with ``facts`` (see :data:`FACTS`) matches; a missing fact is the empty text."""
        fact = facts.get(self.name) or ""
        return fnmatch.fnmatchcase(fact, self.value) if self.is_glob else fact == self.value

    def __str__(self) -> str:
        """As written on the command line; a value with spaces or quotes is shell-quoted (``name~'Summer *'``)."""
        value = self.value
        if any(char.isspace() or char in "'\"" for char in value):
            value = "'" + value.replace("'", "'\"'\"'") + "'"
        return f"{self.name}{GLOB if self.is_glob else EQUAL}{value}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "is_glob": self.is_glob}


@dataclass(frozen=True)
class Silence:
    """Alerts matched by every one of ``matchers`` neither notify nor act from ``starts_at`` until ``ends_at``.

    ``created_by`` is who made it (``--by``, default the OS user), ``comment`` why, ``expired_by`` who ended it
    early. ``id`` is the store's: None until stored (it and ``expired_by`` take no part in equality).
    """

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str | None = None
    id: int | None = dataclasses.field(default=None, compare=False)
    expired_by: str | None = dataclasses.field(default=None, compare=False)  # who ended it early (None: nobody)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matchers", tuple(self.matchers))
        if not self.matchers:
            raise MatcherError("a silence needs at least one matcher (it would silence everything)")
        aware(self.starts_at, "silence start")
        aware(self.ends_at, "silence end")
        if self.ends_at < self.starts_at:  # equal: expired before it started
            raise MatcherError("a silence must end after it starts")

    def active(self, now: datetime) -> bool:
        """Whether it mutes alerts at ``now``: started, and not yet ended (or expired)."""
        return self.starts_at <= now < self.ends_at

    def state(self, now: datetime) -> str:
        """ "pending" (starts later), "active" or "expired" at ``now``."""
        return "pending" if now < self.starts_at else "active" if now < self.ends_at else "expired"

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        """Whether every matcher matches the alert with ``facts`` (whatever the time: see :meth:`active`)."""
        return all(matcher.matches(facts) for matcher in self.matchers)

    def to_json(self) -> dict[str, Any]:
        """A plain dict: ``id``, ``matchers`` (``[{"name", "value", "is_glob"}]``), ``starts_at`` and ``ends_at``
        (ISO 8601 in UTC with ``Z``, as ``status --json`` shows times), ``created_by``, ``comment`` (or None),
        ``expired_by`` (or None)."""
        return {
            "id": self.id,
            "matchers": [m.to_json() for m in self.matchers],
            "starts_at": _zulu(self.starts_at),
            "ends_at": _zulu(self.ends_at),
            "created_by": self.created_by,
            "comment": self.comment,
            "expired_by": self.expired_by,
        }

    def describe(self) -> str:
        """``#3 rule=overspend name~Summer*``: how messages and logs name it."""
        shown = " ".join(str(m) for m in self.matchers)
        return f"#{self.id} {shown}" if self.id is not None else shown


def alert_facts(
    rule: str, advertiser_id: str, level: Level | str, entity_id: str, name: str | None
) -> dict[str, str | None]:
    """The facts of one alert, as matchers read them."""
    return {"rule": rule, "advertiser": advertiser_id, "level": Level(level).value, "entity": entity_id, "name": name}


def _zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
