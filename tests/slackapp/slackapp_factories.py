"""Messages for the button tests (the sandbox's first advertiser and one of its campaigns), and the Slack users.

(Imported by bare name: test modules share it; conftest modules themselves are not importable.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from monitor.domain import Account, Level, Outcome, Severity
from monitor.notify import Action, AlertEntity, AlertKind, AlertMessage, MatchedValue, RuleInfo
from monitor.slackapp.socket import SlackApp

ALICE, BOB, MALLORY = "U0ALICE", "U0BOB", "U0MALLORY"  # Slack users: ALICE and OPS_GROUP are allowed
OPS_GROUP = "S0OPS"
#: the fixture make_app: starts a buttons app connected to the fake
MakeApp = Callable[..., Awaitable[SlackApp]]

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ADV = "7000000000000000001"
CAMPAIGN = "1801100000000000001"
ACME = Account(ADV, "Acme Outdoor US", "USD", "America/New_York")
RULE = RuleInfo("overspend", Severity.CRITICAL, "Spent too much.", "spend > 300")


def campaign(entity_id: str = CAMPAIGN, action: Action | None = None, name: str = "Summer Sale") -> AlertEntity:
    return AlertEntity(Level.CAMPAIGN, entity_id, name, (MatchedValue("spend", 432.0, "USD", "today"),), action=action)


def paused(journal_id: int, outcome: Outcome = Outcome.DONE) -> Action:
    return Action("pause", outcome, journal_id=journal_id)


def alert(*entities: AlertEntity, kind: AlertKind = AlertKind.FIRING, rule: RuleInfo = RULE) -> AlertMessage:
    return AlertMessage(kind, rule, ACME, entities or (campaign(),), NOW - timedelta(minutes=5), NOW)
