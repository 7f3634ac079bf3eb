"""The monitor's own problems (operational alerts): their kinds, and what is remembered about one between polls."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class OpsKind(enum.StrEnum):
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 (not a secret)  the advertiser must authorize the app again
    ADVERTISER_UNREACHABLE = "advertiser_unreachable"  # N polls in a row failed
    PERMISSION_LOST = "permission_lost"  # the token no longer reaches the advertiser, or lacks a scope
    RULES_RELOAD_FAILED = "rules_reload_failed"  # the previous rules stay in force
    ACTION_FAILED = "action_failed"  # a write failed, was interrupted, or the next poll did not see it in effect
    ACTIONS_HELD = "actions_held"  # guards held writes back: circuit breaker, conflicting rules, a manual override
    ACCOUNT_LIMITED = "account_limited"  # advertiser/info status is not STATUS_ENABLE (e.g. STATUS_LIMIT): polls paused
    DISCOVERY_FAILED = "discovery_failed"  # a token account's advertisers could not be listed
    STORAGE_FULL = "storage_full"  # the database or its disk is full: polls cannot be stored


@dataclass(frozen=True)
class OpsState:
    """What is remembered about one (kind, subject) between polls, and across restarts (the store keeps it).

    ``subject`` is an advertiser id, ``rules``, ``discovery:<account>``, or ``journal:<id>`` (an interrupted
    action that was told)."""

    kind: OpsKind
    subject: str
    since: datetime
    notified: bool = False
    last_notified_at: datetime | None = None
    failures: int = 0
    detail: str = ""
