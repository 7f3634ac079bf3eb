"""Factories for notification tests: the sandbox's first advertiser, a rule, campaigns that matched it, alerts.

(Imported by bare name: test modules and conftest share it; conftest modules themselves are not importable.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.domain import Account, Level, Severity
from monitor.notify import AlertEntity, AlertKind, AlertMessage, MatchedValue, RuleInfo, ads_manager_url, unit_for

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ACME = Account("7000000000000000001", "Acme Outdoor US", "USD", "Etc/GMT+5")
HOSTILE = "Retargeting <!channel> & <b>VIP</b> <https://evil|click>"
RULE = RuleInfo(
    "overspend-no-conversions",
    Severity.CRITICAL,
    "Spent over 500 without a conversion.",
    "spend > 500 and conversion == 0",
)


def entity(
    entity_id: str, name: str | None = None, spend: float | None = 600.0, conversion: int | None = 0, **kw: Any
) -> AlertEntity:
    """A campaign of ACME that matched RULE."""
    return AlertEntity(
        level=Level.CAMPAIGN,
        id=entity_id,
        name=name if name is not None else f"Campaign {entity_id}",
        values=(
            MatchedValue("spend", spend, unit_for("spend", "USD"), "today"),
            MatchedValue("conversion", conversion, unit_for("conversion", "USD"), "today"),
        ),
        link=ads_manager_url(Level.CAMPAIGN, ACME.id, entity_id),
        first_seen=NOW - timedelta(minutes=15),
        **kw,
    )


def alert(*entities: AlertEntity, kind: AlertKind = AlertKind.FIRING, rule: RuleInfo = RULE, **kw: Any) -> AlertMessage:
    """An alert of RULE for ACME about ``entities`` (default: one campaign)."""
    return AlertMessage(
        kind=kind,
        rule=rule,
        advertiser=kw.pop("advertiser", ACME),
        entities=entities or (entity("1800000000000000001"),),
        first_seen=kw.pop("first_seen", NOW - timedelta(minutes=15)),
        now=kw.pop("now", NOW),
        **kw,
    )
